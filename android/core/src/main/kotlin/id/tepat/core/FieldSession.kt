package id.tepat.core

import id.tepat.core.ffi.FieldConfig
import id.tepat.core.ffi.FieldCore
import id.tepat.core.ffi.FieldEvent
import id.tepat.core.ffi.FieldShell
import id.tepat.core.ffi.LocationOutput
import id.tepat.core.ffi.PhotoConfig
import id.tepat.core.ffi.PhotoResult
import id.tepat.core.ffi.ViewModel
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.Future
import java.util.concurrent.RejectedExecutionException
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/**
 * The app's handle on the Rust core: owns the [FieldCore], runs every call into it on one worker thread (never
 * the UI thread: a dispatch writes to SQLite before it returns), publishes each new view, and answers the core's
 * requests for location and photos through the providers the app gives it.
 *
 * One session per process: the UI and the background sync job share it (two cores on one database would each
 * keep their own idea of the screen).
 *
 * [databaseKey]: the device database's key (on a phone a [WrappedKeyFile] wrapped by the Android Keystore), asked for
 * on the worker when the core opens and zeroed once the core has it; a key that cannot be had, or that does not
 * open the database, is reported to the listeners as the open failure ([DatabaseKeyException],
 * [id.tepat.core.ffi.FieldException.DatabaseKey]).
 *
 * [photos]: how photos are handled (prepared for sending into the app's private photo folder, uploaded after the
 * text, kept some days after the server confirmed them); set on the core as soon as it opens, before any photo
 * can be taken. `null`: photos are only hashed and never uploaded (as the core does without it).
 */
class FieldSession(
    private val config: FieldConfig,
    private val databaseKey: DatabaseKeySource,
    private val location: LocationProvider,
    private val camera: CameraProvider,
    private val connectivity: ConnectivityMonitor? = null,
    private val photos: PhotoConfig? = null,
) : AutoCloseable {
    /** What a session tells the app. Called on the session's worker thread: post to the UI thread to draw. */
    interface Listener {
        fun onView(view: ViewModel)

        /**
         * A call into the core failed ([id.tepat.core.ffi.FieldException] for the expected failures; an [Error]
         * such as a missing library, a uniffi checksum mismatch or running out of memory comes here too, instead
         * of killing the process).
         */
        fun onError(error: Throwable) {}
    }

    private val worker: ExecutorService = Executors.newSingleThreadExecutor { task ->
        Thread(task, "tepat-core").apply { isDaemon = true }
    }
    private val listeners = CopyOnWriteArrayList<Listener>()
    private val state = MutableStateFlow<ViewModel?>(null)
    private var core: FieldCore? = null

    @Volatile
    private var closed = false

    /** Why the core could not be opened, for listeners that come later. */
    @Volatile
    private var openFailure: Throwable? = null

    /** The latest view; `null` until the core has opened. */
    val views: StateFlow<ViewModel?> = state.asStateFlow()

    init {
        onWorker {
            val opened = try {
                val key = databaseKey.databaseKey()
                try {
                    FieldCore(config, key, Shell())
                } finally {
                    key.fill(0)
                }
            } catch (e: Throwable) {
                // Listeners come after the constructor: each hears of this when it is added.
                openFailure = e
                return@onWorker
            }
            photos?.let { photoConfig ->
                java.io.File(photoConfig.dir).mkdirs()
                opened.setPhotos(photoConfig)
            }
            core = opened
            publish(opened.view())
            connectivity?.start { online -> submit { publish(it.connectivityChanged(online)) } }
        }
    }

    fun addListener(listener: Listener) {
        listeners.add(listener)
        onWorker {
            state.value?.let(listener::onView)
            openFailure?.let(listener::onError)
        }
    }

    fun removeListener(listener: Listener) {
        listeners.remove(listener)
    }

    /** Sends a person's action to the core; the new view comes to the listeners. Returns at once. */
    fun send(event: FieldEvent) {
        submit { publish(it.dispatch(event)) }
    }

    /** Sends an action and waits for its view (background jobs and tests; never on the UI thread). */
    fun sendAndWait(event: FieldEvent): ViewModel = call { core -> core.dispatch(event).also(::publish) }

    /** Runs [block] with the core on the worker and waits for its result; failures are thrown to the caller. */
    fun <T> call(block: (FieldCore) -> T): T {
        val future: Future<T> = worker.submit<T> { block(openCore()) }
        return try {
            future.get()
        } catch (e: java.util.concurrent.ExecutionException) {
            throw (e.cause as? Exception) ?: e
        }
    }

    /**
     * Enrols this phone with an admin's one-time code (one round trip to the server named in the configuration).
     * The new view (with the user) goes to the listeners; a refusal goes to [Listener.onError] as
     * [id.tepat.core.ffi.FieldException.Enrol] with the reason in the person's words.
     */
    fun enrol(code: String, deviceName: String) {
        submit { publish(it.enrol(code, deviceName)) }
    }

    /**
     * Starts a sync now; [done] is called exactly once, on another thread, with the view once no round trip is in
     * flight any more (`null` if the core is not open). What the background job waits for.
     */
    fun syncInBackground(done: (ViewModel?) -> Unit) {
        val queued = onWorker {
            val core = try {
                openCore().also { publish(it.dispatch(FieldEvent.SyncNow)) }
            } catch (e: Throwable) {
                done(null)
                throw e
            }
            Thread({
                val view = try {
                    core.waitForSync()
                    core.view()
                } catch (_: Throwable) {
                    null // closed meanwhile, or the library failed: the job ends either way
                }
                done(view)
            }, "tepat-sync-wait").apply { isDaemon = true }.start()
        }
        if (!queued) done(null)
    }

    /** Makes what was saved durable against power loss (call when the app goes to the background). */
    fun flush() {
        submit { it.flush() }
    }

    /** Waits until everything sent so far has run and no sync is in flight (tests, shutting down). */
    fun awaitIdle() {
        val core = call { it }
        core.waitForSync()
        call { }
    }

    override fun close() {
        if (closed) return
        connectivity?.stop()
        submit { core ->
            core.flush()
            core.waitForSync()
            core.close()
            this.core = null
        }
        closed = true
        worker.shutdown()
        worker.awaitTermination(30, TimeUnit.SECONDS)
    }

    private fun openCore(): FieldCore =
        core ?: throw IllegalStateException("the core is not open (see the error reported when it was opened)")

    /** Runs [block] with the open core on the worker. */
    private fun submit(block: (FieldCore) -> Unit) {
        onWorker { block(openCore()) }
    }

    /**
     * Runs [block] on the worker; a failure goes to the listeners. Returns false when the session is closed and
     * the block will not run.
     */
    private fun onWorker(block: () -> Unit): Boolean {
        if (closed) return false
        return try {
            worker.execute {
                try {
                    block()
                } catch (e: Throwable) {
                    // Errors too: one escaping here would kill the worker (and, on Android, the process, so a
                    // background job would crash-loop).
                    listeners.forEach { listener ->
                        try {
                            listener.onError(e)
                        } catch (_: Throwable) {
                            // A listener failing to hear of a failure must not stop the others.
                        }
                    }
                }
            }
            true
        } catch (_: RejectedExecutionException) {
            false
        }
    }

    private fun publish(view: ViewModel) {
        state.value = view
        listeners.forEach { it.onView(view) }
    }

    /** The core's requests, answered through the providers; the answers go back in on the worker. */
    private inner class Shell : FieldShell {
        override fun requestLocation(requestId: ULong, path: String) {
            location.requestFix(path) { output: LocationOutput ->
                submit { core -> publish(core.resolveLocation(requestId, output)) }
            }
        }

        override fun requestPhoto(requestId: ULong, path: String) {
            camera.takePhoto(path) { result: PhotoResult ->
                submit { core ->
                    publish(core.resolvePhoto(requestId, result))
                    // With preparation on, the answer is the core's small copy (or nothing, when the file was not a
                    // photo): the camera's file (megabytes, with the camera's metadata) is not needed any more.
                    if (photos?.prepare == true && result is PhotoResult.Taken) java.io.File(result.file).delete()
                }
            }
        }

        override fun viewChanged(view: ViewModel) {
            // Read the view again on the worker, so a background view never overwrites a newer one.
            submit { core -> publish(core.view()) }
        }
    }
}
