package id.tepat.field.test

import android.graphics.Insets
import android.view.ViewGroup
import android.view.WindowInsets
import id.tepat.core.ffi.FieldEvent
import id.tepat.core.ffi.Identity
import id.tepat.core.ffi.Role
import id.tepat.field.R
import id.tepat.field.ServerAddress
import id.tepat.field.SyncScheduler
import id.tepat.field.isoDate
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import java.util.Locale

/** Edge-to-edge insets, background sync scheduling, the server address, dates in any locale. */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class PlatformTest {
    @After
    fun close() = app.session.close()

    @Test
    fun content_stays_clear_of_the_system_bars_and_the_keyboard() {
        val activity = launch().get()
        val root = activity.findViewById<ViewGroup>(android.R.id.content)!!.getChildAt(0)
        val bars = WindowInsets.Builder()
            .setInsets(WindowInsets.Type.statusBars(), Insets.of(0, 63, 0, 0))
            .setInsets(WindowInsets.Type.navigationBars(), Insets.of(0, 0, 0, 48))
            .build()
        root.dispatchApplyWindowInsets(bars)
        assertEquals(63, root.paddingTop)
        assertEquals(48, root.paddingBottom)
        val typing = WindowInsets.Builder(bars).setInsets(WindowInsets.Type.ime(), Insets.of(0, 0, 0, 720)).build()
        root.dispatchApplyWindowInsets(typing)
        assertEquals("the keyboard's height, not under it", 720, root.paddingBottom)
    }

    @Test
    fun training_mode_schedules_no_background_sync() {
        launch()
        assertFalse(SyncScheduler.periodicScheduled(app))
    }

    @Test
    @Config(application = ServerApp::class)
    fun a_phone_not_enrolled_schedules_no_background_sync_an_enrolled_one_does() {
        launch()
        assertFalse(SyncScheduler.periodicScheduled(app))
        dispatch(FieldEvent.UseIdentity(Identity("D-1", "U-1", "Rina", Role.ENUMERATOR, listOf("17.71"))))
        assertTrue(SyncScheduler.periodicScheduled(app))
    }

    @Test
    @Config(application = PlainHttpApp::class)
    fun a_plain_http_server_address_is_refused_and_said() {
        val activity = launch().get()
        assertNull("the core is given no server", app.serverUrl)
        val said = words(activity).getString(R.string.server_not_https, "http://127.0.0.1:9/")
        assertTrue(activity.window.decorView.allOf<android.widget.TextView>().any { it.text == said })
        assertFalse(SyncScheduler.periodicScheduled(app))
        assertTrue(ServerAddress.check("HTTPS://tepat.example.go.id") is ServerAddress.Https)
        assertEquals(ServerAddress.Training, ServerAddress.check("  "))
    }

    @Test
    fun dates_are_written_in_ascii_digits_whatever_the_phones_language() {
        val before = Locale.getDefault()
        try {
            // Arabic (Egypt) and Bengali write their own digits with the default String.format.
            for (locale in listOf(Locale.forLanguageTag("ar-EG"), Locale.forLanguageTag("bn-BD"))) {
                Locale.setDefault(locale)
                assertEquals("2026-11-30", isoDate(2026, 11, 30))
            }
        } finally {
            Locale.setDefault(before)
        }
    }

    @Test
    fun the_connection_is_always_shown_and_follows_the_network() {
        val activity = launch().get()
        val connection = activity.connection
        val manager = app.getSystemService(android.net.ConnectivityManager::class.java)
        val network = shadowOf(manager)
        fun callbacks() = network.networkCallbacks.toList()
        waitUntil("the app listens to the network") { callbacks().isNotEmpty() }
        val phoneNetwork = org.robolectric.shadows.ShadowNetwork.newInstance(7)

        // The signal goes: no network is active, every listener hears the network lost.
        network.setDefaultNetworkActive(false)
        callbacks().forEach { it.onLost(phoneNetwork) }
        settle()
        assertEquals(android.view.View.VISIBLE, connection.visibility)
        assertEquals(words(activity).getString(R.string.offline), connection.text.toString())

        // Still said on a visit page (the indicator is not part of the redrawn page).
        openFoundVisit(1u)
        assertTrue(connection.isShown)
        assertEquals(words(activity).getString(R.string.offline), connection.text.toString())

        // The signal comes back.
        network.setDefaultNetworkActive(true)
        callbacks().forEach { it.onAvailable(phoneNetwork) }
        settle()
        assertEquals(words(activity).getString(R.string.online), connection.text.toString())
    }
}
