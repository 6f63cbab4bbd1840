package id.tepat.core.test

import id.tepat.core.AesGcmKeyWrapper
import id.tepat.core.DATABASE_KEY_BYTES
import id.tepat.core.DatabaseKeyException
import id.tepat.core.DatabaseKeySource
import id.tepat.core.FieldSession
import id.tepat.core.WrappedKeyFile
import id.tepat.core.ffi.FieldConfig
import id.tepat.core.ffi.FieldEvent
import id.tepat.core.ffi.FieldException
import java.io.File
import javax.crypto.spec.SecretKeySpec
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNull
import kotlin.test.assertTrue

/** Whether [needle] occurs in [haystack]. */
private fun ByteArray.holds(needle: ByteArray): Boolean =
    (0..size - needle.size).any { start -> needle.indices.all { this[start + it] == needle[it] } }

private fun File.holds(text: String): Boolean = exists() && readBytes().holds(text.toByteArray())

/** Another phone's Keystore key. */
private val otherWrapper = AesGcmKeyWrapper(SecretKeySpec(ByteArray(32) { 0x5c }, "AES"))

fun keyTests(runner: Runner) = with(runner) {
    test("the database key is made once, stored only wrapped, and the same at every start") {
        val dir = tempDir()
        val file = File(dir, "phone.db.key")
        val first = WrappedKeyFile(file, testWrapper).databaseKey()
        assertEquals(DATABASE_KEY_BYTES, first.size)
        assertFalse(first.all { it == 0.toByte() })
        val stored = file.readBytes()
        assertFalse(stored.holds(first), "the key is in the file in clear")
        assertFalse(File(dir, "phone.db.key.new").exists())
        // A later start (a new process): the same key from the same file, the file untouched.
        assertContentEquals(first, WrappedKeyFile(file, testWrapper).databaseKey())
        assertContentEquals(stored, file.readBytes())
        // Another phone gets another key.
        val other = WrappedKeyFile(File(tempDir(), "phone.db.key"), testWrapper).databaseKey()
        assertFalse(other.contentEquals(first))
    }

    test("a key file that does not unwrap is an error and is never replaced by a new key") {
        val file = File(tempDir(), "phone.db.key")
        WrappedKeyFile(file, testWrapper).databaseKey()
        val stored = file.readBytes()
        // The Keystore key is gone or another one (e.g. the file restored onto another phone).
        assertFailsWith<DatabaseKeyException> { WrappedKeyFile(file, otherWrapper).databaseKey() }
        assertContentEquals(stored, file.readBytes())
        // The file altered: one bit of the sealed key flipped.
        file.writeBytes(stored.copyOf().also { it[it.size - 1] = (it[it.size - 1].toInt() xor 1).toByte() })
        assertFailsWith<DatabaseKeyException> { WrappedKeyFile(file, testWrapper).databaseKey() }
        // Cut short, or not a key file at all.
        file.writeBytes(stored.copyOf(10))
        assertFailsWith<DatabaseKeyException> { WrappedKeyFile(file, testWrapper).databaseKey() }
        file.writeBytes("bukan kunci".toByteArray())
        assertFailsWith<DatabaseKeyException> { WrappedKeyFile(file, testWrapper).databaseKey() }
        assertEquals("bukan kunci", file.readText())
    }

    test("the phone's database and its WAL hold none of the typed answers in clear") {
        Phone().enrolled().use { phone ->
            phone.completeFoundVisit()
            phone.goTo("Identitas")
            phone.answer("head_nik", "1771014106900003")
            phone.answer("head_name", "Kartini Wulandari")
            assertEquals("1771014106900003", phone.view.field("head_nik").display)
            val db = File(phone.dir, "phone.db")
            val wal = File(phone.dir, "phone.db-wal")
            assertTrue(wal.length() > 0, "the answers are in the WAL first")
            for (text in listOf("1771014106900003", "Kartini Wulandari", "Siti Aminah")) {
                assertFalse(db.holds(text), "$text in clear in the database")
                assertFalse(wal.holds(text), "$text in clear in the WAL")
            }
            phone.session.flush()
            phone.session.awaitIdle()
            for (text in listOf("1771014106900003", "Kartini Wulandari", "Siti Aminah")) {
                assertFalse(db.holds(text), "$text in clear in the database after flushing")
            }
        }
    }

    test("a key that does not open the database is reported in both languages and the visits stay") {
        val dir = tempDir()
        Phone(dir).enrolled().use { it.completeFoundVisit() }
        val config = FieldConfig(File(dir, "phone.db").absolutePath, listOf(testForm), false, null, null)
        val recorder = Recorder()
        val wrongKey = WrappedKeyFile(File(dir, "another.key"), testWrapper)
        FieldSession(config, wrongKey, id.tepat.core.Unavailable, id.tepat.core.Unavailable).use { session ->
            session.addListener(recorder)
            assertFailsWith<IllegalStateException> { session.awaitIdle() }
            val error = recorder.errors.single() as? FieldException.DatabaseKey
                ?: throw AssertionError("not a database key error: ${recorder.errors}")
            assertTrue(error.textId.contains("tidak dapat dibuka"), error.textId)
            assertTrue(error.textEn.contains("cannot be opened"), error.textEn)
            assertNull(session.views.value)
        }
        // A key file that cannot be unwrapped reaches the listeners the same way, before the core is asked.
        val unwrappable = WrappedKeyFile(File(dir, "phone.db.key"), otherWrapper)
        FieldSession(config, unwrappable, id.tepat.core.Unavailable, id.tepat.core.Unavailable).use { session ->
            val failed = Recorder()
            session.addListener(failed)
            assertFailsWith<IllegalStateException> { session.awaitIdle() }
            assertTrue(failed.errors.single() is DatabaseKeyException, "${failed.errors}")
        }
        // The right key: the draft is there.
        Phone(dir).use { phone ->
            assertEquals(1u, phone.view.today().counts.drafts)
        }
    }

    test("the session zeroes the key once the core has it") {
        val dir = tempDir()
        val handedOver = mutableListOf<ByteArray>()
        val keys = testKeys(dir)
        val recording = DatabaseKeySource { keys.databaseKey().also { handedOver += it } }
        Phone(dir, keys = recording).use { phone ->
            phone.send(FieldEvent.ShowToday)
            assertEquals(1, handedOver.size)
            assertTrue(handedOver.single().all { it == 0.toByte() }, "the key array was not zeroed")
        }
    }
}
