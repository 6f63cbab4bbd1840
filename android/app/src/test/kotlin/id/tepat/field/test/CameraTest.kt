package id.tepat.field.test

import android.app.Activity
import android.content.ComponentName
import android.content.Intent
import android.content.IntentFilter
import android.net.Uri
import android.os.Bundle
import android.provider.MediaStore
import id.tepat.core.ffi.AnswerView
import id.tepat.core.ffi.FieldEvent
import id.tepat.core.ffi.Screen
import id.tepat.field.CameraBridge
import id.tepat.field.MainActivity
import id.tepat.field.PhotoProvider
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
        file.writeBytes(byteArrayOf(0xFF.toByte(), 0xD8.toByte()) + "a KK page".toByteArray())
        return file
    }

    @Test
    fun a_photo_goes_through_the_camera_app_into_the_answer() {
        installCameraApp()
        val controller = launch()
        val intent = askForPhoto(controller.get())
        val file = cameraWrites(intent)
        shadowOf(controller.get()).receiveResult(intent, Activity.RESULT_OK, null)
        waitUntil("the photo reached the core") {
            (visit()?.fields?.single { it.path == "photo_front" }?.answer as? AnswerView.Photo)?.file == file.absolutePath
        }
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
        waitUntil("the visit reopened with the photo") {
            val visit = visit()
            visit?.visitId == visitId &&
                (visit.fields.singleOrNull { it.path == "photo_front" }?.answer as? AnswerView.Photo)?.file ==
                file.absolutePath
        }
        assertTrue(file.exists())
    }
}
