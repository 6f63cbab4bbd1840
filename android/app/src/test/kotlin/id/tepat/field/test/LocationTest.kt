package id.tepat.field.test

import android.Manifest
import android.app.AlertDialog
import android.content.DialogInterface
import android.content.pm.PackageManager
import android.location.Location
import android.location.LocationManager
import android.os.SystemClock
import android.provider.Settings
import id.tepat.core.ffi.AnswerView
import id.tepat.core.ffi.FieldEvent
import id.tepat.core.ffi.Screen
import id.tepat.field.GpsLocation
import id.tepat.field.R
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowAlertDialog
import java.time.Duration

/** The household's position: permission outcomes, providers, and what is said when there is no fix. */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class LocationTest {
    @After
    fun close() = app.session.close()

    private val locations get() = shadowOf(app.getSystemService(LocationManager::class.java))

    private fun gpsAnswer(): AnswerView? =
        (app.session.views.value?.screen as? Screen.Visit)?.v1?.fields?.singleOrNull { it.path == "gps" }?.answer

    private fun openHouse() {
        openFoundVisit(2u)
    }

    private fun tapTakeGps(activity: android.app.Activity) {
        val label = words(activity).getString(R.string.take_gps)
        activity.window.decorView.allOf<android.widget.Button>().first { it.text == label }.performClick()
        settle()
    }

    /** Every activity started so far (the permission prompt is one, on Robolectric). */
    private fun startedActivities(activity: android.app.Activity): List<android.content.Intent> =
        generateSequence { shadowOf(activity).nextStartedActivity }.toList()

    private fun fix(provider: String, accuracy: Float, ageSeconds: Long = 0) = Location(provider).apply {
        latitude = -3.79
        longitude = 102.26
        this.accuracy = accuracy
        elapsedRealtimeNanos = SystemClock.elapsedRealtimeNanos() - ageSeconds * 1_000_000_000L
    }

    @Test
    fun approximate_permission_gives_a_network_fix() {
        shadowOf(app).grantPermissions(Manifest.permission.ACCESS_COARSE_LOCATION)
        locations.setProviderEnabled(LocationManager.GPS_PROVIDER, false)
        locations.setProviderEnabled(LocationManager.NETWORK_PROVIDER, true)
        val activity = launch().get()
        openHouse()
        tapTakeGps(activity)
        assertNull("no permission prompt: approximate is enough", shadowOf(activity).lastRequestedPermission)
        locations.simulateLocation(fix(LocationManager.NETWORK_PROVIDER, 35f))
        // Not good enough to stop early: the best fix is taken when the time is up.
        shadowOf(android.os.Looper.getMainLooper()).idleFor(Duration.ofSeconds(GpsLocation.TIMEOUT_S + 1L))
        waitUntil("the network fix reached the core") { gpsAnswer() is AnswerView.Location }
        assertEquals(35.0, (gpsAnswer() as AnswerView.Location).accuracyM, 0.01)
    }

    @Test
    @Suppress("DEPRECATION") // setLastKnownLocation: the way to give a fix an age without delivering it
    fun a_recent_last_known_fix_answers_at_once_an_old_one_is_named_with_its_age() {
        shadowOf(app).grantPermissions(Manifest.permission.ACCESS_FINE_LOCATION)
        locations.setProviderEnabled(LocationManager.GPS_PROVIDER, true)
        locations.setProviderEnabled(LocationManager.NETWORK_PROVIDER, true)
        locations.setLastKnownLocation(LocationManager.NETWORK_PROVIDER, fix(LocationManager.NETWORK_PROVIDER, 8f, 30))
        val activity = launch().get()
        openHouse()
        tapTakeGps(activity)
        waitUntil("the recent fix answered at once") { gpsAnswer() is AnswerView.Location }

        // Half an hour later, indoors: nothing comes; the old fix is not used, and its age is said.
        dispatch(FieldEvent.Clear("gps"))
        locations.setLastKnownLocation(LocationManager.NETWORK_PROVIDER, fix(LocationManager.NETWORK_PROVIDER, 8f, 30 * 60))
        tapTakeGps(activity)
        shadowOf(android.os.Looper.getMainLooper()).idleFor(Duration.ofSeconds(GpsLocation.TIMEOUT_S + 1L))
        // 30 minutes old when asked, 31 once the 61 s of waiting are over.
        val said = words(activity).getString(R.string.gps_timeout_last_known, GpsLocation.TIMEOUT_S, 31)
        waitUntil("the visit says how old the last fix is") {
            activity.window.decorView.allOf<android.widget.TextView>().any { it.text.contains(said) }
        }
        assertEquals(AnswerView.Empty, gpsAnswer())
    }

    @Test
    fun after_dont_ask_again_the_app_settings_are_one_tap_away() {
        val activity = launch().get()
        openHouse()
        tapTakeGps(activity)
        assertNotNull("the permission is asked for", shadowOf(activity).lastRequestedPermission)
        // Refused with "don't ask again": the system no longer shows a rationale or the prompt.
        shadowOf(app.packageManager).setShouldShowRequestPermissionRationale(Manifest.permission.ACCESS_COARSE_LOCATION, false)
        val denied = intArrayOf(PackageManager.PERMISSION_DENIED, PackageManager.PERMISSION_DENIED)
        activity.onRequestPermissionsResult(
            1,
            arrayOf(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION),
            denied,
        )
        settle()
        val dialog: AlertDialog? = ShadowAlertDialog.getLatestAlertDialog()
        assertNotNull("no way to the settings was offered", dialog)
        dialog!!.getButton(DialogInterface.BUTTON_POSITIVE).performClick()
        settle() // the dialog's buttons answer through a message to the UI thread
        val settings = startedActivities(activity).singleOrNull { it.action == Settings.ACTION_APPLICATION_DETAILS_SETTINGS }
        assertNotNull("the app's settings were not opened", settings)
        assertEquals("package:" + app.packageName, settings!!.dataString)
        waitUntil("the field says the permission was refused") {
            activity.window.decorView.allOf<android.widget.TextView>()
                .any { it.text.contains(words(activity).getString(R.string.gps_permission_denied)) }
        }
    }

    @Test
    fun a_first_refusal_asks_again_next_time_without_sending_to_settings() {
        val activity = launch().get()
        openHouse()
        tapTakeGps(activity)
        shadowOf(app.packageManager).setShouldShowRequestPermissionRationale(Manifest.permission.ACCESS_COARSE_LOCATION, true)
        activity.onRequestPermissionsResult(
            1,
            arrayOf(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION),
            intArrayOf(PackageManager.PERMISSION_DENIED, PackageManager.PERMISSION_DENIED),
        )
        settle()
        assertNull(ShadowAlertDialog.getLatestAlertDialog())
        assertTrue(startedActivities(activity).none { it.action == Settings.ACTION_APPLICATION_DETAILS_SETTINGS })
    }
}
