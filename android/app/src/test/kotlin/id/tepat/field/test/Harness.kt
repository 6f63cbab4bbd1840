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

/**
 * A camera's photo: a [width]×[height] JPEG at quality 0.95 with some noise (it compresses as a photo does), as
 * the camera app writes it; the core prepares it into a smaller copy.
 */
fun cameraJpeg(width: Int = 1200, height: Int = 900, seed: Long = 1): ByteArray {
    val image = java.awt.image.BufferedImage(width, height, java.awt.image.BufferedImage.TYPE_INT_RGB)
    val random = java.util.Random(seed)
    for (y in 0 until height) {
        for (x in 0 until width) {
            val wall = if (y < height / 3) 0x87CEEB else if ((x / 40 + y / 40) % 2 == 0) 0xC8A27A else 0xB07050
            image.setRGB(x, y, wall xor random.nextInt(0x10))
        }
    }
    val writer = javax.imageio.ImageIO.getImageWritersByFormatName("jpeg").next()
    val out = java.io.ByteArrayOutputStream()
    javax.imageio.ImageIO.createImageOutputStream(out).use { stream ->
        writer.output = stream
        val quality = writer.defaultWriteParam.apply {
            compressionMode = javax.imageio.ImageWriteParam.MODE_EXPLICIT
            compressionQuality = 0.95f
        }
        writer.write(null, javax.imageio.IIOImage(image, null, null), quality)
    }
    writer.dispose()
    return out.toByteArray()
}

/** SHA-256 of a file, as hex (what the core names photos by). */
fun sha256(file: java.io.File): String =
    java.security.MessageDigest.getInstance("SHA-256").digest(file.readBytes()).joinToString("") { "%02x".format(it) }

/** Lays the activity's views out on its window's size now (a list makes its rows only when laid out). */
fun android.app.Activity.layOut() {
    val width = resources.displayMetrics.widthPixels
    val height = resources.displayMetrics.heightPixels
    val root = window.decorView
    root.measure(
        View.MeasureSpec.makeMeasureSpec(width, View.MeasureSpec.EXACTLY),
        View.MeasureSpec.makeMeasureSpec(height, View.MeasureSpec.EXACTLY),
    )
    root.layout(0, 0, width, height)
}
