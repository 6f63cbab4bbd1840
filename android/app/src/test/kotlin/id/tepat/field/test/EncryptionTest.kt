package id.tepat.field.test

import id.tepat.core.DatabaseKeyException
import id.tepat.core.ffi.FieldEvent
import id.tepat.core.ffi.FieldException
import id.tepat.core.ffi.Screen
import id.tepat.field.R
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowToast
import java.io.File

/** The device database as the app opens it: encrypted with a key kept wrapped in app-private storage. */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class EncryptionTest {
    @After
    fun close() = app.session.close()

    private fun File.holds(text: String): Boolean {
        if (!exists()) return false
        val bytes = readBytes()
        val needle = text.toByteArray()
        return (0..bytes.size - needle.size).any { start -> needle.indices.all { bytes[start + it] == needle[it] } }
    }

    @Test
    fun the_database_is_encrypted_with_a_wrapped_key_in_private_storage() {
        launch()
        openFoundVisit(1u)
        dispatch(FieldEvent.Answer("head_name", "Kartini Wulandari"))
        val view = dispatch(FieldEvent.Answer("head_nik", "1771014106900003"))
        val fields = (view.screen as? Screen.Visit)?.v1?.fields.orEmpty()
        assertEquals("1771014106900003", fields.find { it.path == "head_nik" }?.display)
        assertEquals("Kartini Wulandari", fields.find { it.path == "head_name" }?.display)
        val db = File(app.filesDir, "tepat.db")
        val key = File(app.filesDir, "tepat.db.key")
        assertTrue("the database is in the app's private files", db.exists())
        assertTrue("the wrapped key is beside it", key.exists())
        for (file in listOf(db, File(app.filesDir, "tepat.db-wal"))) {
            assertFalse("${file.name} holds the name in clear", file.holds("Kartini Wulandari"))
            assertFalse("${file.name} holds the NIK in clear", file.holds("1771014106900003"))
        }
        assertFalse(db.holds("SQLite format 3"))
    }

    @Test
    fun a_database_key_failure_is_said_in_the_persons_words() {
        val activity = launch().get()
        // The Keystore could not unwrap the key (the core was never asked).
        activity.onError(DatabaseKeyException("the database key in tepat.db.key cannot be unwrapped"))
        settle()
        assertEquals(words(activity).getString(R.string.database_key_error), ShadowToast.getTextOfLatestToast())
        // The key did not open the database: the core's own words, in the language on show.
        val wrongKey = FieldException.DatabaseKey("tepat.db", "Data di ponsel tidak dapat dibuka", "The data cannot be opened")
        activity.onError(wrongKey)
        settle()
        assertEquals("Data di ponsel tidak dapat dibuka", ShadowToast.getTextOfLatestToast())
    }
}
