package id.tepat.field

import android.app.Application
import android.content.Context
import id.tepat.core.FieldSession
import id.tepat.core.ffi.FieldConfig
import id.tepat.core.ffi.ViewModel
import java.io.File

/**
 * The process: one [FieldSession] shared by the screen and the background sync job, created when the process
 * starts (the core opens on its own worker thread, so this does not block the UI).
 */
class TepatApplication : Application() {
    lateinit var session: FieldSession
        private set
    lateinit var camera: CameraBridge
        private set

    override fun onCreate() {
        super.onCreate()
        camera = CameraBridge(this)
        val config = FieldConfig(
            File(filesDir, "tepat.db").absolutePath,
            bundledForms(),
            false,
            serverUrl,
            assetText(CA_FILE),
        )
        session = FieldSession(config, GpsLocation(this), camera, NetworkMonitor(this))
        session.addListener(OutboxWatcher(this))
        SyncScheduler.schedulePeriodic(this)
    }

    /** This deployment's sync server (res/values/config.xml); `null`: training mode. */
    val serverUrl: String?
        get() = getString(R.string.server_url).trim().takeIf { it.isNotEmpty() }

    /** The forms that ship in the APK (assets/forms, copied from schemas/forms by the build). */
    private fun bundledForms(): List<String> =
        assets.list(FORMS).orEmpty().filter { it.endsWith(".json") }.sorted().mapNotNull { assetText("$FORMS/$it") }

    private fun assetText(name: String): String? = try {
        assets.open(name).bufferedReader().use { it.readText() }
    } catch (_: java.io.IOException) {
        null
    }

    /** Asks JobScheduler for a sync as soon as a network is there whenever visits wait in the outbox. */
    private class OutboxWatcher(private val context: Context) : FieldSession.Listener {
        private var waiting = 0u

        override fun onView(view: ViewModel) {
            val sync = view.sync
            val now = sync.outbox - minOf(sync.held, sync.outbox)
            if (now > waiting && sync.canSync) SyncScheduler.soon(context)
            waiting = now
        }
    }

    companion object {
        private const val FORMS = "forms"
        private const val CA_FILE = "server_ca.pem"

        fun of(context: Context): TepatApplication = context.applicationContext as TepatApplication
    }
}
