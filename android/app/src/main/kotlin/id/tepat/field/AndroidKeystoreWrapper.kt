package id.tepat.field

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import id.tepat.core.AesGcmKeyWrapper
import id.tepat.core.KeyWrapper
import java.security.KeyStore
import java.security.KeyStoreException
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey

/**
 * Wraps the device database's key with an AES-256-GCM key that lives in the Android Keystore (hardware-backed where
 * the phone has it; it never leaves the Keystore, and is gone with the app's data). Made on the first [wrap];
 * [unwrap] never makes one (a missing Keystore key is an error, not a new key). No user authentication is
 * required: background sync opens the database while the phone is locked.
 */
class AndroidKeystoreWrapper(private val alias: String = ALIAS) : KeyWrapper {
    override fun wrap(plain: ByteArray): ByteArray = AesGcmKeyWrapper(existingKey() ?: newKey()).wrap(plain)

    override fun unwrap(wrapped: ByteArray): ByteArray =
        AesGcmKeyWrapper(existingKey() ?: throw KeyStoreException("no key $alias in the Android Keystore")).unwrap(wrapped)

    private fun existingKey(): SecretKey? {
        val store = KeyStore.getInstance(PROVIDER).apply { load(null) }
        return store.getKey(alias, null) as? SecretKey
    }

    private fun newKey(): SecretKey {
        val spec = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
            .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
            .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
            .setKeySize(256)
            // The Keystore picks each IV itself (AesGcmKeyWrapper stores it with the wrapped key).
            .setRandomizedEncryptionRequired(true)
            .build()
        val generator = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, PROVIDER)
        generator.init(spec)
        return generator.generateKey()
    }

    private companion object {
        const val PROVIDER = "AndroidKeyStore"
        const val ALIAS = "tepat-database-key-wrapper"
    }
}
