package id.tepat.field.test

import android.Manifest
import android.location.Location
import android.location.LocationManager
import android.os.SystemClock
import id.tepat.core.ffi.AnswerView
import id.tepat.core.ffi.FieldEvent
import id.tepat.core.ffi.Screen
import id.tepat.field.AnswerBox
import id.tepat.field.MainActivity
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertSame
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config

/**
 * Typing while the screen redraws (a GPS fix arriving, a background sync, a network change): the box being typed
 * in stays the same view, keeps its focus and its text, and nothing half-typed reaches the core.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class TypingTest {
    @After
    fun close() = app.session.close()

    private fun MainActivity.box(tag: String): AnswerBox =
        window.decorView.allOf<AnswerBox>().singleOrNull { it.tag == tag } ?: throw AssertionError("no box $tag")

    private fun answerOf(path: String): AnswerView? =
        (app.session.views.value?.screen as? Screen.Visit)?.v1?.fields?.singleOrNull { it.path == path }?.answer

    private fun visit() = (app.session.views.value?.screen as? Screen.Visit)?.v1

    @Test
    fun typing_survives_redraws_from_a_gps_fix_and_a_sync() {
        val activity = launch().get()
        // The enumerator asks for the GPS fix on the house page, then types on the identity page meanwhile.
        openFoundVisit(2u)
        shadowOf(app).grantPermissions(Manifest.permission.ACCESS_FINE_LOCATION)
        val locations = shadowOf(app.getSystemService(LocationManager::class.java))
        locations.setProviderEnabled(LocationManager.GPS_PROVIDER, true)
        dispatch(FieldEvent.CaptureLocation("gps"))
        assertNotNull("the core waits for the fix", visit()?.waitingFor)
        dispatch(FieldEvent.GoToSection(1u))
        val box = activity.box("head_name")
        assertEquals("Siti", box.text.toString())
        assertTrue(box.requestFocus())
        box.setText("")
        box.append("Bud")
        val before = app.session.views.value

        // The GPS fix arrives and the screen redraws with it.
        locations.simulateLocation(
            Location(LocationManager.GPS_PROVIDER).apply {
                latitude = -3.8
                longitude = 102.3
                accuracy = 4f
                elapsedRealtimeNanos = SystemClock.elapsedRealtimeNanos()
            },
        )
        waitUntil("the fix reached the core") { visit()?.waitingFor == null }
        assertTrue("the screen was redrawn", app.session.views.value !== before)
        // A sync ends (training mode: "no server") and the screen redraws again.
        dispatch(FieldEvent.SyncNow)

        assertSame("the box being typed in is the same view", box, activity.box("head_name"))
        assertTrue("it kept the focus", box.hasFocus())
        assertEquals("Bud", box.text.toString())
        assertEquals("nothing half-typed reached the core", AnswerView.Text("Siti"), answerOf("head_name"))

        box.append("i")
        box.clearFocus()
        settle()
        assertEquals(AnswerView.Text("Budi"), answerOf("head_name"))
        assertEquals("Budi", activity.box("head_name").text.toString())
        dispatch(FieldEvent.GoToSection(2u))
        assertTrue(answerOf("gps") is AnswerView.Location)
    }

    @Test
    @Config(application = ServerApp::class)
    fun the_enrolment_code_survives_sync_events() {
        val activity = launch().get()
        val code = activity.box("enrol-code")
        assertTrue(code.requestFocus())
        code.append("ABCD-12")
        val before = app.session.views.value
        dispatch(FieldEvent.SyncNow)
        app.session.call { it.connectivityChanged(true) }
        app.session.awaitIdle()
        settle()
        assertTrue("the screen was redrawn", app.session.views.value !== before)
        assertSame(code, activity.box("enrol-code"))
        assertEquals("ABCD-12", code.text.toString())
        assertTrue(code.hasFocus())
    }

    @Test
    fun a_finalise_note_survives_sync_events() {
        val activity = launch().get()
        openFoundVisit(1u)
        // One member declared, none listed: finalising shows the roster's size warning, which needs a note.
        dispatch(FieldEvent.Answer("kk_members", "2"))
        dispatch(FieldEvent.ReviewFinalise)
        val screen = (app.session.views.value?.screen as? Screen.Finalise)?.v1
            ?: throw AssertionError("not finalising: ${app.session.views.value?.screen}")
        val warning = screen.warnings.firstOrNull() ?: throw AssertionError("no warning: $screen")
        val note = activity.box("note:" + warning.path)
        assertTrue(note.requestFocus())
        note.append("Anak kedua merantau")
        val before = app.session.views.value
        dispatch(FieldEvent.SyncNow)
        assertTrue("the screen was redrawn", app.session.views.value !== before)
        assertSame(note, activity.box("note:" + warning.path))
        assertEquals("Anak kedua merantau", note.text.toString())
        assertTrue(note.hasFocus())
    }

    @Test
    fun a_new_page_starts_fresh_and_commits_what_was_typed_first() {
        val activity = launch().get()
        openFoundVisit(1u)
        val box = activity.box("floor_area")
        assertTrue(box.requestFocus())
        box.append("36.5")
        // "Next" tapped with the box still focused (a tap does not take the focus on a touch screen).
        activity.window.decorView.allOf<android.widget.Button>().first { it.text == words(activity).getString(id.tepat.field.R.string.next) }.performClick()
        app.session.awaitIdle()
        settle()
        val visit = (app.session.views.value?.screen as Screen.Visit).v1
        assertEquals(2u, visit.section)
        dispatch(FieldEvent.GoToSection(1u))
        assertEquals(AnswerView.Number(36.5), answerOf("floor_area"))
        assertNotNull(activity.box("head_name"))
    }
}
