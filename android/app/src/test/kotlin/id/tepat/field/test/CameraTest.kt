package id.tepat.field.test

import android.app.Activity
import android.content.ComponentName
import android.content.Intent
import android.content.IntentFilter
import android.graphics.drawable.BitmapDrawable
import android.net.Uri
import android.os.Bundle
import android.provider.MediaStore
import android.widget.ImageView
import android.widget.TextView
import id.tepat.core.ffi.AnswerView
import id.tepat.core.ffi.FieldEvent
import id.tepat.core.ffi.Screen
import id.tepat.core.ffi.SyncView
import id.tepat.field.CameraBridge
import id.tepat.field.MainActivity
import id.tepat.field.PhotoProvider
import id.tepat.field.R
import id.tepat.field.Ui
import id.tepat.field.syncBar
import id.tepat.field.TepatApplication
import id.tepat.field.Thumbnails
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import java.io.File

/** Photos through the phone's camera app, including Android killing the process while the camera is open. */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class CameraTest {
    @After
    fun close() = app.session.close()

    /** A camera app on the phone that answers ACTION_IMAGE_CAPTURE. */
    private fun installCameraApp() {
        val camera = ComponentName("com.example.camera", "com.example.camera.Capture")
        shadowOf(app.packageManager).addActivityIfNotPresent(camera)
        shadowOf(app.packageManager).addIntentFilterForActivity(
            camera,
            IntentFilter(MediaStore.ACTION_IMAGE_CAPTURE).apply { addCategory(Intent.CATEGORY_DEFAULT) },
        )
    }

    private fun visit() = (app.session.views.value?.screen as? Screen.Visit)?.v1

    /** Opens A-1 at the house section and asks for the front photo; returns the intent the camera app got. */
    private fun askForPhoto(activity: MainActivity): Intent {
        openFoundVisit(2u)
        dispatch(FieldEvent.TakePhoto("photo_front"))
        val started = shadowOf(activity).nextStartedActivityForResult
        assertNotNull("the camera app was not started: ${visit()?.fields?.map { it.path to it.display }}", started)
        assertEquals(MediaStore.ACTION_IMAGE_CAPTURE, started.intent.action)
        return started.intent
    }

    /** What the camera app does: writes the JPEG into the file lent through our provider. */
    private fun cameraWrites(intent: Intent): File {
        @Suppress("DEPRECATION")
        val uri = intent.getParcelableExtra<Uri>(MediaStore.EXTRA_OUTPUT)!!
        val file = File(PhotoProvider.photoDir(app), uri.lastPathSegment!!)
        file.writeBytes(cameraJpeg())
        return file
    }

    @Test
    fun a_photo_goes_through_the_camera_app_into_the_answer() {
        installCameraApp()
        val controller = launch()
        val intent = askForPhoto(controller.get())
        val file = cameraWrites(intent)
        shadowOf(controller.get()).receiveResult(intent, Activity.RESULT_OK, null)
        waitUntil("the photo reached the core") { photoAnswer() != null }
        assertPrepared(photoAnswer()!!, file)
    }

    private fun photoAnswer(): AnswerView.Photo? =
        visit()?.fields?.singleOrNull { it.path == "photo_front" }?.answer as? AnswerView.Photo

    /**
     * The answer is the core's prepared copy of the camera's [file] (issue 13: set_photos is on in the app): in
     * the app's folder of photos to send, named by its SHA-256, smaller than the camera's.
     */
    private fun assertPrepared(photo: AnswerView.Photo, file: File) {
        val prepared = File(photo.file)
        assertEquals(File(TepatApplication.preparedPhotoDir(app), "${photo.sha256}.jpg").absolutePath, prepared.absolutePath)
        assertEquals(sha256(prepared), photo.sha256)
        val cameraBytes = cameraJpeg().size
        assertTrue("prepared ${prepared.length()} < camera's $cameraBytes bytes", prepared.length() < cameraBytes)
        waitUntil("the camera's file (full size, with its metadata) is removed once prepared") { !file.exists() }
    }

    @Test
    fun a_photo_taken_shows_its_thumbnail() {
        installCameraApp()
        val controller = launch()
        val activity = controller.get()
        val intent = askForPhoto(activity)
        cameraWrites(intent)
        shadowOf(activity).receiveResult(intent, Activity.RESULT_OK, null)
        waitUntil("the photo reached the core") { photoAnswer() != null }
        settle()
        val photo = photoAnswer()!!
        val thumb = activity.window.decorView.allOf<ImageView>().singleOrNull { it.tag == "thumb:${photo.file}" }
        assertNotNull("a thumbnail of the photo under its field", thumb)
        val bitmap = (thumb!!.drawable as? BitmapDrawable)?.bitmap
        assertNotNull("the thumbnail shows a bitmap", bitmap)
        assertTrue(
            "decoded small (${bitmap!!.width}×${bitmap.height}), not the whole photo",
            maxOf(bitmap.width, bitmap.height) < 2 * Thumbnails.EDGE_PX,
        )
        assertEquals(words(app).getString(R.string.photo_taken), thumb.contentDescription)

    }

    @Test
    fun with_no_camera_app_the_field_says_so() {
        val controller = launch()
        openFoundVisit(2u)
        dispatch(FieldEvent.TakePhoto("photo_front"))
        settle()
        assertEquals(null, shadowOf(controller.get()).nextStartedActivityForResult)
        val expected = words(app).getString(id.tepat.field.R.string.no_camera_app)
        waitUntil("the visit says there is no camera app") {
            val texts = controller.get().window.decorView.allOf<android.widget.TextView>().map { it.text.toString() }
            texts.any { it.contains(expected) }
        }
    }

    @Test
    fun a_photo_taken_while_android_killed_the_app_is_kept_and_the_visit_reopens() {
        installCameraApp()
        val first = launch()
        val intent = askForPhoto(first.get())
        val visitId = visit()!!.visitId
        val saved = Bundle()
        first.saveInstanceState(saved).pause().stop()
        val file = cameraWrites(intent)

        // The process dies: the session and everything in memory are gone; Android starts a new process (a new
        // Application), recreates the activity from its saved state and delivers the camera's result to it.
        app.session.close()
        first.destroy()
        app.onCreate()
        val second = Robolectric.buildActivity(MainActivity::class.java).create(saved).start()
        @Suppress("DEPRECATION") // Robolectric's way to deliver a result to an activity that did not ask for it
        shadowOf(second.get()).callOnActivityResult(CameraBridge.REQUEST, Activity.RESULT_OK, null)
        second.resume().visible()
        waitUntil("the visit reopened with the photo") { visit()?.visitId == visitId && photoAnswer() != null }
        assertPrepared(photoAnswer()!!, file)
    }

    @Test
    fun the_sync_bar_says_which_photos_wait_also_while_a_sync_runs() {
        val activity = launch().get()
        val ui = Ui(activity, words(activity)) {}
        val waiting = "3 foto, 820 KB belum terkirim"
        fun said(sync: SyncView) = ui.syncBar(sync, "Rina").allOf<TextView>().map { it.text.toString() }
        val idle = SyncView(0u, 0u, false, true, null, null, 3u, 820_000uL, waiting, "Terkirim semua · $waiting")
        assertEquals("said once, in the summary", 1, said(idle).count { it.contains(waiting) })
        val syncing = idle.copy(syncing = true, canSync = false)
        assertTrue("while syncing: ${said(syncing)}", said(syncing).contains(waiting))
        val none = idle.copy(photosWaiting = 0u, photoBytesWaiting = 0uL, photosText = null, summary = "Terkirim semua")
        assertTrue(said(none).none { it.contains("foto") })
    }
}
