package id.tepat.field

import android.app.Activity
import android.content.Context
import android.content.Intent
import android.os.Handler
import android.os.Looper
import android.provider.MediaStore
import id.tepat.core.CameraProvider
import id.tepat.core.ffi.PhotoResult
import java.io.File
import java.util.UUID

/**
 * Photos through the phone's camera app (ACTION_IMAGE_CAPTURE into a private file lent by [PhotoProvider]):
 * no camera permission and no camera code of our own. The core hashes the file and keeps the reference.
 */
class CameraBridge(private val context: Context) : CameraProvider {
    private val main = Handler(Looper.getMainLooper())

    /** The screen that can start the camera app (set while it is in front). */
    var host: Activity? = null

    private var pending: Pending? = null

    private class Pending(val file: File, val done: (PhotoResult) -> Unit)

    override fun takePhoto(path: String, done: (PhotoResult) -> Unit) {
        main.post { launch(done) }
    }

    private fun launch(done: (PhotoResult) -> Unit) {
        val words = Localized.of(context)
        val activity = host ?: return done(PhotoResult.Failed(words.getString(R.string.no_camera_app)))
        val file = File(PhotoProvider.photoDir(context), "${UUID.randomUUID()}.jpg")
        val intent = Intent(MediaStore.ACTION_IMAGE_CAPTURE)
            .putExtra(MediaStore.EXTRA_OUTPUT, PhotoProvider.uriFor(file))
            .addFlags(Intent.FLAG_GRANT_WRITE_URI_PERMISSION or Intent.FLAG_GRANT_READ_URI_PERMISSION)
        if (intent.resolveActivity(activity.packageManager) == null) {
            return done(PhotoResult.Failed(words.getString(R.string.no_camera_app)))
        }
        // A request left open (the person went elsewhere) is answered before a new one starts.
        pending?.let { it.done(PhotoResult.Cancelled) }
        pending = Pending(file, done)
        activity.startActivityForResult(intent, REQUEST)
    }

    /** From the host's onActivityResult. */
    fun onResult(requestCode: Int, resultCode: Int): Boolean {
        if (requestCode != REQUEST) return false
        val taken = pending ?: return true
        pending = null
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
        return true
    }

    private companion object {
        const val REQUEST = 7301
    }
}
