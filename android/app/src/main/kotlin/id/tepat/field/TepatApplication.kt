package id.tepat.field

import android.app.Application
import android.content.Context
import id.tepat.core.FieldSession
import id.tepat.core.KeyWrapper
import id.tepat.core.WrappedKeyFile
import id.tepat.core.ffi.FieldConfig
import id.tepat.core.ffi.PhotoConfig
import id.tepat.core.ffi.ViewModel
import java.io.File

/**
 * The process: one [FieldSession] shared by the screen and the background sync job, created when the process
 * starts (the core opens on its own worker thread, so this does not block the UI).
 */
open class TepatApplication : Application() {
    lateinit var session: FieldSession
        private set
    lateinit var camera: CameraBridge
        private set

    /** Connectivity: tells the core, and the screen's offline indicator. */
    lateinit var network: NetworkMonitor
        private set

    /** This deployment's sync server, checked ([serverProblem]); `null`: training mode or a refused address. */
    var serverUrl: String? = null
        private set

    /** Why the configured server address is not used (a plain http:// address), in the person's words. */
    var serverProblem: String? = null
        private set

    override fun onCreate() {
        super.onCreate()
        camera = CameraBridge(this)
        when (val address = ServerAddress.check(configuredServerUrl())) {
            ServerAddress.Training -> serverUrl = null
            is ServerAddress.Https -> serverUrl = address.url
            is ServerAddress.Refused -> serverProblem = Localized.resources(this, id.tepat.core.ffi.Lang.ID)
                .getString(R.string.server_not_https, address.url)
        }
        val config = FieldConfig(
            File(filesDir, "tepat.db").absolutePath,
            bundledForms(),
            false,
            serverUrl,
            assetText(CA_FILE),
        )
        network = NetworkMonitor(this)
        // The database's key: random, kept wrapped by the Android Keystore beside the database (app-private, no
        // backup, no device transfer), unwrapped on the session's worker when the core opens.
        val databaseKey = WrappedKeyFile(File(filesDir, DATABASE_KEY_FILE), databaseKeyWrapper())
        session = FieldSession(config, databaseKey, GpsLocation(this), camera, network, photoConfig(this))
        session.addListener(OutboxWatcher(this, serverUrl != null))
    }

    /** What wraps the database key: the Android Keystore; Robolectric, which has no Keystore, gets a stand-in. */
    protected open fun databaseKeyWrapper(): KeyWrapper = AndroidKeystoreWrapper()

    /** res/values/config.xml (`server_url`); tests configure another. */
    protected open fun configuredServerUrl(): String = getString(R.string.server_url)

    /** The forms that ship in the APK (assets/forms, copied from schemas/forms by the build). */
    private fun bundledForms(): List<String> =
        assets.list(FORMS).orEmpty().filter { it.endsWith(".json") }.sorted().mapNotNull { assetText("$FORMS/$it") }

    private fun assetText(name: String): String? = try {
        assets.open(name).bufferedReader().use { it.readText() }
    } catch (_: java.io.IOException) {
        null
    }

    /**
     * Background sync follows the core's state: the periodic job exists only while there is a server and this
     * phone is enrolled (no job in training mode, none warning "not enrolled" every half hour), and a sync is
     * asked for as soon as a network is there whenever visits wait in the outbox.
     */
    private class OutboxWatcher(private val context: Context, private val server: Boolean) : FieldSession.Listener {
        private var waiting = 0u
        private var periodic: Boolean? = null

        override fun onView(view: ViewModel) {
            val sync = view.sync
            val wanted = server && view.user != null
            if (wanted != periodic) {
                if (wanted) SyncScheduler.schedulePeriodic(context) else SyncScheduler.cancelPeriodic(context)
                periodic = wanted
            }
            val now = sync.outbox - minOf(sync.held, sync.outbox)
            if (now > waiting && sync.canSync && wanted) SyncScheduler.soon(context)
            waiting = now
        }
    }

    companion object {
        private const val FORMS = "forms"
        private const val CA_FILE = "server_ca.pem"
        private const val DATABASE_KEY_FILE = "tepat.db.key"

        fun of(context: Context): TepatApplication = context.applicationContext as TepatApplication

        /** Where prepared photos wait to be sent (app-private; apart from the camera's files in `photos/`). */
        fun preparedPhotoDir(context: Context): File = File(context.filesDir, "photos-ready")

        /**
         * Photos on real phones: prepared for sending when taken (JPEG, 1600 px, about 300 KB, orientation
         * applied, metadata dropped), uploaded after the text of each sync, kept 7 days after the server has
         * them (a supervisor's question about a photo can still be answered from the phone meanwhile).
         */
        fun photoConfig(context: Context): PhotoConfig =
            PhotoConfig(preparedPhotoDir(context).absolutePath, true, true, PHOTO_KEEP_DAYS)

        private const val PHOTO_KEEP_DAYS = 7u
    }
}

/** The configured server address, judged before the core ever sends the device token to it. */
sealed class ServerAddress {
    /** Empty: training mode (everything works and stays on the phone). */
    data object Training : ServerAddress()

    data class Https(val url: String) : ServerAddress()

    /**
     * Anything but https://. The core's own sockets do not go through Android's cleartext policy, so a plain
     * http:// address would send the token and the families' data in clear without a word: refused instead.
     */
    data class Refused(val url: String) : ServerAddress()

    companion object {
        fun check(configured: String): ServerAddress {
            val url = configured.trim()
            return when {
                url.isEmpty() -> Training
                url.startsWith("https://", ignoreCase = true) -> Https(url)
                else -> Refused(url)
            }
        }
    }
}
