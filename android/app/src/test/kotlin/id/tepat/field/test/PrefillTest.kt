package id.tepat.field.test

import android.widget.Button
import android.widget.TextView
import id.tepat.core.ffi.FieldEvent
import id.tepat.core.ffi.Screen
import id.tepat.field.MainActivity
import id.tepat.field.R
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config

/**
 * A registered family's answers (the assignment's prefill) say where they come from, and a page whose answers the
 * enumerator checked is confirmed in one tap; an answer changed says so.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class PrefillTest {
    @After
    fun close() = app.session.close()

    private fun MainActivity.mark(path: String): String? =
        window.decorView.allOf<TextView>().singleOrNull { it.tag == "prefill:$path" }?.text?.toString()

    private fun MainActivity.confirmButtons(): List<Button> =
        window.decorView.allOf<Button>().filter { it.tag == "confirm-page" }

    private fun section(): UInt? = ((app.session.views.value?.screen as? Screen.Visit)?.v1)?.section

    @Test
    fun a_registered_answer_is_marked_and_its_page_confirmed_in_one_tap() {
        val activity = launch().get()
        openFoundVisit(1u)
        val words = words(activity)
        assertEquals(words.getString(R.string.prefill_to_check), activity.mark("head_name"))
        val confirm = activity.confirmButtons().single()
        assertEquals(words.getString(R.string.confirm_page), confirm.text.toString())

        confirm.performClick()
        waitUntil("the confirmed page moves on") { section() != 1u }
        dispatch(FieldEvent.GoToSection(1u))
        assertEquals(words.getString(R.string.prefill_confirmed), activity.mark("head_name"))
        assertTrue("nothing left to confirm on the page", activity.confirmButtons().isEmpty())

        dispatch(FieldEvent.Answer("head_name", "Siti Aminah"))
        assertEquals(words.getString(R.string.prefill_changed), activity.mark("head_name"))
    }

    @Test
    fun a_family_without_a_registered_record_shows_no_marks_and_no_confirm_button() {
        val activity = launch().get()
        useEnumerator()
        dispatch(FieldEvent.ImportAssignments(ASSIGNMENTS))
        dispatch(FieldEvent.OpenAssignment("A-2"))
        dispatch(FieldEvent.Choose("visit_outcome", "1"))
        dispatch(FieldEvent.GoToSection(1u))
        assertEquals(null, activity.mark("head_name"))
        assertTrue(activity.confirmButtons().isEmpty())
    }
}
