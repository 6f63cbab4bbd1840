package id.tepat.core

import java.io.File
import java.io.FileOutputStream
import java.security.SecureRandom
import javax.crypto.Cipher
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * Where the device database's key comes from. Asked once, on the session's worker, when the core opens; the
 * session zeroes the array once the core has it.
 */
fun interface DatabaseKeySource {
    /** The database's 32-byte key ([DATABASE_KEY_BYTES]). */
    fun databaseKey(): ByteArray
}

/** Bytes in the device database's key (SQLCipher, AES-256). */
const val DATABASE_KEY_BYTES = 32

/**
 * Encrypts and authenticates the database key with a key that stays in its keystore (on a phone: an AES-GCM key in
 * the Android Keystore, see the app's `AndroidKeystoreWrapper`; in tests: a software key).
 */
interface KeyWrapper {
    /** [plain] sealed: everything [unwrap] needs besides the wrapping key. */
    fun wrap(plain: ByteArray): ByteArray

    /** The key sealed by [wrap]; throws when [wrapped] was made with another key or was altered. */
    fun unwrap(wrapped: ByteArray): ByteArray
}

/** The database key cannot be had: [message] names why (in English, for logs and support). */
class DatabaseKeyException(message: String, cause: Throwable? = null) : Exception(message, cause)

/**
 * AES-256-GCM with [key]: `[IV length][IV][ciphertext + 128-bit tag]`, the IV chosen by the cipher (the Android
 * Keystore insists on choosing it), bound to its purpose by associated data.
 */
class AesGcmKeyWrapper(private val key: SecretKey) : KeyWrapper {
    override fun wrap(plain: ByteArray): ByteArray {
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.ENCRYPT_MODE, key)
        cipher.updateAAD(PURPOSE)
        val iv = cipher.iv
        return byteArrayOf(iv.size.toByte()) + iv + cipher.doFinal(plain)
    }

    override fun unwrap(wrapped: ByteArray): ByteArray {
        val ivLength = wrapped.firstOrNull()?.toInt() ?: 0
        if (ivLength < 12 || wrapped.size < 1 + ivLength + TAG_BYTES) {
            throw java.security.GeneralSecurityException("wrapped key too short (${wrapped.size} bytes)")
        }
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(TAG_BYTES * 8, wrapped, 1, ivLength))
        cipher.updateAAD(PURPOSE)
        return cipher.doFinal(wrapped, 1 + ivLength, wrapped.size - 1 - ivLength)
    }

    private companion object {
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val TAG_BYTES = 16
        val PURPOSE = "tepat device database key v1".toByteArray()
    }
}

/**
 * The database key, kept wrapped by [wrapper] in [file] (app-private storage, beside the database, excluded from
 * backups and device transfer like it).
 *
 * First start: 32 bytes from [random] (SecureRandom), wrapped, written to a temporary file, fsynced and renamed
 * into place, then read back and unwrapped: the key is stored, and known to unwrap, before the core ever encrypts
 * anything with it. Later starts unwrap it. A file that does not unwrap (the Keystore key is gone, the file was
 * altered) is an error and is never replaced by a new key: the database encrypted with the old one would be lost.
 */
class WrappedKeyFile(
    private val file: File,
    private val wrapper: KeyWrapper,
    private val random: SecureRandom = SecureRandom(),
) : DatabaseKeySource {
    override fun databaseKey(): ByteArray {
        if (!file.exists()) create()
        val stored = try {
            file.readBytes()
        } catch (e: java.io.IOException) {
            throw DatabaseKeyException("cannot read the database key file ${file.name}", e)
        }
        if (stored.size <= MAGIC.size || !stored.copyOfRange(0, MAGIC.size).contentEquals(MAGIC)) {
            throw DatabaseKeyException("the database key file ${file.name} is not a Tepat key file (${stored.size} bytes)")
        }
        val key = try {
            wrapper.unwrap(stored.copyOfRange(MAGIC.size, stored.size))
        } catch (e: Exception) {
            // KeyStoreException, AEADBadTagException, KeyPermanentlyInvalidatedException, a ProviderException of a
            // vendor's Keystore: whichever, the key cannot be had and must not be replaced.
            throw DatabaseKeyException("the database key in ${file.name} cannot be unwrapped: $e", e)
        }
        if (key.size != DATABASE_KEY_BYTES) {
            key.fill(0)
            throw DatabaseKeyException("the database key in ${file.name} is ${key.size} bytes, not $DATABASE_KEY_BYTES")
        }
        return key
    }

    private fun create() {
        val key = ByteArray(DATABASE_KEY_BYTES)
        try {
            random.nextBytes(key)
            val sealed = MAGIC + wrapper.wrap(key)
            file.parentFile?.mkdirs()
            val temporary = File(file.path + ".new")
            FileOutputStream(temporary).use { out ->
                out.write(sealed)
                out.fd.sync()
            }
            if (!temporary.renameTo(file)) {
                throw DatabaseKeyException("cannot store the database key file ${file.name}")
            }
        } catch (e: DatabaseKeyException) {
            throw e
        } catch (e: Exception) {
            throw DatabaseKeyException("cannot make the database key: $e", e)
        } finally {
            key.fill(0)
        }
    }

    private companion object {
        /** "TPK" and the format version. */
        val MAGIC = byteArrayOf(0x54, 0x50, 0x4b, 0x01)
    }
}
