package id.tepat.field.test

import id.tepat.core.AesGcmKeyWrapper
import id.tepat.core.KeyWrapper
import id.tepat.field.TepatApplication
import javax.crypto.spec.SecretKeySpec

/**
 * The app as every test runs it (`robolectric.properties`): Robolectric has no Android Keystore, so the database key
 * is wrapped by the same AES-GCM code with a fixed software key instead (one key for every Application of a run, as
 * the Keystore's key outlives the process). Everything else is the real app.
 */
open class TestApp : TepatApplication() {
    override fun databaseKeyWrapper(): KeyWrapper = KEYSTORE_STAND_IN

    private companion object {
        val KEYSTORE_STAND_IN = AesGcmKeyWrapper(SecretKeySpec(ByteArray(32) { (it * 11 + 3).toByte() }, "AES"))
    }
}

/** The app configured with a sync server (nothing listens there: every sync fails as "offline", quickly). */
class ServerApp : TestApp() {
    override fun configuredServerUrl(): String = "https://127.0.0.1:9/"
}

/** The app configured with a plain http:// server address. */
class PlainHttpApp : TestApp() {
    override fun configuredServerUrl(): String = "http://127.0.0.1:9/"
}
