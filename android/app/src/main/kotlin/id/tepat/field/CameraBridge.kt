package id.tepat.field

import android.app.Activity
import android.content.Context
import android.content.Intent
import android.os.Handler
import android.os.Looper
import android.provider.MediaStore
import id.tepat.core.CameraProvider
import id.tepat.core.ffi.PhotoResult
import id.tepat.core.ffi.Screen
import java.io.File
import java.util.UUID

/**
 * Photos through the phone's camera app (ACTION_IMAGE_CAPTURE into a private file lent by [PhotoProvider]):
 * no camera permission and no camera code of our own. The core hashes the file and keeps the reference.
 *
 * While the camera app is open, Android may kill this process (common on 2 GB phones); the result then arrives
 * in a new process whose core has never heard of the request. So the capture in flight (its file, the field, the
 * visit) is written down before the camera starts, and a result that finds no request in memory is recovered
 * from it: the screen reopens the visit, the core asks for the photo again, and [takePhoto] answers with the file.
 */
class CameraBridge(private val context: Context) : CameraProvider {
    private val main = Handler(Looper.getMainLooper())
    private val saved = context.getSharedPreferences(PREFS, Context.MODE_PRIVATE)

    /** The screen that can start the camera app (set while it is in front). */
    var host: Activity? = null

    private var pending: Pending? = null

    private class Pending(val file: File, val done: (PhotoResult) -> Unit)

    /** What a camera result meant, for the screen. */
    sealed class Outcome {
        /** Not a camera result of ours. */
        data object NotOurs : Outcome()

        /** Given to the request waiting in this process. */
        data object Answered : Outcome()

        /**
         * The request was made by a process that died: reopen [visitId] (at [sectionIndex]); when [taken], ask the
         * core for the photo at [path] again ([takePhoto] answers it with the file at once).
         */
        data class Recovered(val visitId: String, val sectionIndex: UInt?, val path: String, val taken: Boolean) :
            Outcome()
    }

    override fun takePhoto(path: String, done: (PhotoResult) -> Unit) {
        // A photo taken for this field while an earlier process was alive: answered with its file.
        val file = saved.getString(KEY_TAKEN_FILE, null)
        if (file != null && saved.getString(KEY_PATH, null) == path) {
            forget()
            return done(PhotoResult.Taken(file))
        }
        main.post { launch(path, done) }
    }

    private fun launch(path: String, done: (PhotoResult) -> Unit) {
        val words = Localized.of(context)
        val activity = host ?: return done(PhotoResult.Failed(words.getString(R.string.no_camera_app)))
        val file = File(PhotoProvider.photoDir(context), "${UUID.randomUUID()}.jpg")
        val intent = Intent(MediaStore.ACTION_IMAGE_CAPTURE)
            .putExtra(MediaStore.EXTRA_OUTPUT, PhotoProvider.uriFor(file))
            .addFlags(Intent.FLAG_GRANT_WRITE_URI_PERMISSION or Intent.FLAG_GRANT_READ_URI_PERMISSION)
        // Finds a camera app only with the <queries> entry for IMAGE_CAPTURE in the manifest (Android 11+).
        if (intent.resolveActivity(activity.packageManager) == null) {
            return done(PhotoResult.Failed(words.getString(R.string.no_camera_app)))
        }
        // A request left open (the person went elsewhere) is answered before a new one starts.
        pending?.let { it.done(PhotoResult.Cancelled) }
        pending = Pending(file, done)
        val visit = TepatApplication.of(context).session.views.value?.screen as? Screen.Visit
        // Written before the camera starts (commit, not apply: the process may be gone a moment later).
        saved.edit().clear()
            .putString(KEY_FILE, file.absolutePath)
            .putString(KEY_PATH, path)
            .putString(KEY_VISIT, visit?.v1?.visitId)
            .putInt(KEY_SECTION, visit?.v1?.section?.toInt() ?: -1)
            .commit()
        activity.startActivityForResult(intent, REQUEST)
    }

    /** From the host's onActivityResult. */
    fun onResult(requestCode: Int, resultCode: Int): Outcome {
        if (requestCode != REQUEST) return Outcome.NotOurs
        val taken = pending ?: return recover(resultCode)
        pending = null
        forget()
        when {
            resultCode == Activity.RESULT_OK && taken.file.length() > 0 ->
                taken.done(PhotoResult.Taken(taken.file.absolutePath))
            resultCode == Activity.RESULT_CANCELED -> {
                taken.file.delete()
                taken.done(PhotoResult.Cancelled)
            }
            else -> {
                taken.file.delete()
                taken.done(PhotoResult.Failed(Localized.of(context).getString(R.string.photo_failed)))
            }
        }
        return Outcome.Answered
    }

    /** A result for a request this process never made: the one written down by the process that died. */
    private fun recover(resultCode: Int): Outcome {
        val file = saved.getString(KEY_FILE, null)?.let(::File)
        val path = saved.getString(KEY_PATH, null)
        val visit = saved.getString(KEY_VISIT, null)
        val section = saved.getInt(KEY_SECTION, -1).takeIf { it >= 0 }?.toUInt()
        if (file == null || path == null || visit == null) {
            forget()
            return Outcome.Answered
        }
        val ok = resultCode == Activity.RESULT_OK && file.length() > 0
        if (ok) {
            saved.edit().putString(KEY_TAKEN_FILE, file.absolutePath).commit()
        } else {
            file.delete()
            forget()
        }
        return Outcome.Recovered(visit, section, path, ok)
    }

    private fun forget() {
        saved.edit().clear().commit()
    }

    companion object {
        const val REQUEST = 7301
        private const val PREFS = "camera"
        private const val KEY_FILE = "file"
        private const val KEY_TAKEN_FILE = "taken_file"
        private const val KEY_PATH = "path"
        private const val KEY_VISIT = "visit"
        private const val KEY_SECTION = "section"
    }
}
