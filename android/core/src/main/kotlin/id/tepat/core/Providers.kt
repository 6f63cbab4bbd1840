package id.tepat.core

import id.tepat.core.ffi.LocationOutput
import id.tepat.core.ffi.PhotoResult

/** The phone's location service, as the app provides it (GPS with a timeout, permission handled by the app). */
fun interface LocationProvider {
    /**
     * Starts getting one fix for the answer at [path] and returns at once; [done] is called exactly once, on any
     * thread, with the fix or the reason there is none.
     */
    fun requestFix(path: String, done: (LocationOutput) -> Unit)
}

/** The phone's camera, as the app provides it. */
fun interface CameraProvider {
    /**
     * Starts taking a photo for the answer at [path] and returns at once; [done] is called exactly once, on any
     * thread, with the photo's file (the core hashes it), a cancel, or a failure.
     */
    fun takePhoto(path: String, done: (PhotoResult) -> Unit)
}

/** News about the network, so the core can sync when a connection comes. */
interface ConnectivityMonitor {
    /** Starts watching; [changed] gets `true` when a usable network appears and `false` when it goes. */
    fun start(changed: (online: Boolean) -> Unit)

    fun stop()
}

/** For a shell without one of the providers (tests, a phone without a camera): every request is answered "no". */
object Unavailable : LocationProvider, CameraProvider {
    override fun requestFix(path: String, done: (LocationOutput) -> Unit) =
        done(LocationOutput.Unavailable("no location service"))

    override fun takePhoto(path: String, done: (PhotoResult) -> Unit) =
        done(PhotoResult.Failed("no camera"))
}
