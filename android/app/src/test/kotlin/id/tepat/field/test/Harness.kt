package id.tepat.field.test

import android.os.Looper
import android.view.View
import android.view.ViewGroup
import id.tepat.core.ffi.FieldEvent
import id.tepat.core.ffi.ViewModel
import id.tepat.field.MainActivity
import id.tepat.field.TepatApplication
import org.robolectric.Robolectric
import org.robolectric.Shadows.shadowOf
import org.robolectric.android.controller.ActivityController
import java.util.concurrent.TimeUnit

/** Two assignments of the test form (`uji`, in the test assets beside the bundled forms). */
const val ASSIGNMENTS = """[
  {"assignment_id": "A-1", "form_id": "uji", "form_version": 1, "region_code": "17.71.01.1001",
   "label": "Siti · RT 003", "prefill": {"head_name": "Siti", "kk_member_count": "1"}},
  {"assignment_id": "A-2", "form_id": "uji", "form_version": 1, "region_code": "17.71.01.1001",
   "label": "Budi · RT 004"}
]"""

/** The app as Robolectric starts it (the real TepatApplication, FieldSession and Rust core). */
val app: TepatApplication
    get() = org.robolectric.RuntimeEnvironment.getApplication() as TepatApplication

/** Runs what is posted to the UI thread until the session's worker has nothing left for it. */
fun settle() {
    repeat(3) {
        app.session.call { }
        shadowOf(Looper.getMainLooper()).idle()
    }
}

/** Sends an event as if the screen had, waits for its view and lets the screen draw it. */
fun dispatch(event: FieldEvent): ViewModel = app.session.sendAndWait(event).also { settle() }

fun launch(): ActivityController<MainActivity> =
    Robolectric.buildActivity(MainActivity::class.java).setup().also { settle() }

/** Every view under [root] (depth first). */
fun View.all(): List<View> =
    if (this is ViewGroup) listOf(this) + (0 until childCount).flatMap { getChildAt(it).all() } else listOf(this)

inline fun <reified T : View> View.allOf(): List<T> = all().filterIsInstance<T>()

/** Waits (bounded) until [condition] holds, running the UI thread meanwhile. */
fun waitUntil(what: String, condition: () -> Boolean) {
    val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20)
    while (!condition()) {
        if (System.nanoTime() > deadline) throw AssertionError("not within 20 s: $what")
        Thread.sleep(10)
        settle()
    }
}

/** The app's words as the screen shows them (Bahasa Indonesia unless the core's language is English). */
fun words(context: android.content.Context): android.content.res.Resources =
    id.tepat.field.Localized.resources(context, app.session.views.value?.lang ?: id.tepat.core.ffi.Lang.ID)

/** The phone working as an enumerator (what enrolment gives; training mode has no server to enrol with). */
fun useEnumerator() {
    dispatch(
        FieldEvent.UseIdentity(
            id.tepat.core.ffi.Identity("D-1", "U-1", "Rina", id.tepat.core.ffi.Role.ENUMERATOR, listOf("17.71")),
        ),
    )
}

/** Assignment A-1 opened, the family found, at section [section] (1: identity, 2: house). */
fun openFoundVisit(section: UInt) {
    useEnumerator()
    dispatch(FieldEvent.ImportAssignments(ASSIGNMENTS))
    dispatch(FieldEvent.OpenAssignment("A-1"))
    dispatch(FieldEvent.Choose("visit_outcome", "1"))
    dispatch(FieldEvent.GoToSection(section))
    val visit = (app.session.views.value?.screen as? id.tepat.core.ffi.Screen.Visit)?.v1
        ?: throw AssertionError("no visit open: ${app.session.views.value?.notice} ${app.session.views.value?.screen}")
    if (visit.section != section) throw AssertionError("at section ${visit.section}, not $section")
}
