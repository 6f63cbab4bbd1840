package id.tepat.field

import android.Manifest
import android.app.Activity
import android.app.AlertDialog
import android.content.Intent
import android.net.Uri
import android.os.Bundle
import android.os.Handler
import android.os.Looper
import android.provider.Settings
import android.view.Menu
import android.view.MenuItem
import android.view.View
import android.view.ViewGroup
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.TextView
import android.widget.Toast
import id.tepat.core.DatabaseKeyException
import id.tepat.core.FieldSession
import id.tepat.core.ffi.FieldEvent
import id.tepat.core.ffi.FieldException
import id.tepat.core.ffi.Lang
import id.tepat.core.ffi.Screen
import id.tepat.core.ffi.ViewModel

/**
 * The one screen: draws whatever the core's view model says (today's list, a visit, finalising) and sends the
 * person's actions back as events. No state of its own beyond what is on the glass.
 */
class MainActivity : Activity(), FieldSession.Listener {
    private val main = Handler(Looper.getMainLooper())
    private lateinit var app: TepatApplication
    private lateinit var top: LinearLayout
    private lateinit var scroll: ScrollView
    private lateinit var content: LinearLayout

    /** Today's list: made once, shown whenever the list is the screen (its rows and scroll position stay). */
    lateinit var todayScreen: TodayScreen
        private set

    /** Online or offline, always on top (follows the network, not the core's redraws). */
    lateinit var connection: TextView
        private set
    private val connectionWatcher: (Boolean) -> Unit = { online -> main.post { showConnection(online) } }
    private var shown: ViewModel? = null
    private var shownPlace: String? = null

    /** The page on the glass: redrawn in place while the place stays the same (see [KeyedColumn]). */
    private var page: KeyedColumn? = null

    /** A GPS fix asked for while the permission question was open. */
    private var locationPath: String? = null

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        app = TepatApplication.of(this)
        top = LinearLayout(this).apply { orientation = LinearLayout.VERTICAL }
        content = LinearLayout(this).apply { orientation = LinearLayout.VERTICAL }
        scroll = ScrollView(this).apply {
            isFillViewport = true
            addView(content)
        }
        todayScreen = TodayScreen(this).apply { visibility = View.GONE }
        connection = TextView(this).apply { tag = "connection" }
        val root = LinearLayout(this).apply { orientation = LinearLayout.VERTICAL }
        root.add(connection, top)
        root.addView(scroll, LinearLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, 0, 1f))
        root.addView(todayScreen, LinearLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, 0, 1f))
        root.setOnApplyWindowInsetsListener { view, insets -> Insets.apply(view, insets) }
        setContentView(root)
        draw(null)
    }

    override fun onResume() {
        super.onResume()
        app.camera.host = this
        app.session.addListener(this)
        app.network.watch(connectionWatcher)
        showConnection(app.network.online)
    }

    override fun onPause() {
        // Whatever is typed in the box that has the focus is answered before the screen goes.
        currentFocus?.clearFocus()
        app.session.removeListener(this)
        app.network.unwatch(connectionWatcher)
        app.camera.host = null
        app.session.flush()
        super.onPause()
    }

    override fun onView(view: ViewModel) {
        main.post { draw(view) }
    }

    override fun onError(error: Throwable) {
        main.post {
            val words = Localized.resources(this, shown?.lang ?: Lang.ID)
            val text = when (error) {
                // Said in the person's words by the core already.
                is FieldException.Enrol -> error.detail
                is FieldException.BadInput -> error.detail
                is FieldException.Store -> words.getString(R.string.core_error, error.detail)
                // The database did not open with this phone's key: the core says why in both languages (the
                // language setting is inside the database).
                is FieldException.DatabaseKey -> if (shown?.lang == Lang.EN) error.textEn else error.textId
                // The key itself could not be unwrapped from the Android Keystore.
                is DatabaseKeyException -> words.getString(R.string.database_key_error)
                else -> words.getString(R.string.core_error, error.message ?: "$error")
            }
            Toast.makeText(this, text, Toast.LENGTH_LONG).show()
        }
    }

    private fun send(event: FieldEvent) {
        // What is typed in the focused box is answered before the action it led to (a tap on a button does not
        // take the focus on a touch screen, so the box would otherwise commit only once the page is gone).
        if (event !is FieldEvent.Answer) (currentFocus as? AnswerBox)?.commit()
        if (event is FieldEvent.CaptureLocation && !hasLocationPermission()) {
            locationPath = event.path
            requestPermissions(
                arrayOf(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION),
                LOCATION_PERMISSION,
            )
            return
        }
        app.session.send(event)
    }

    private fun enrol(code: String) {
        app.session.enrol(code.trim(), "${android.os.Build.MANUFACTURER} ${android.os.Build.MODEL}")
    }

    /** Precise or approximate (Android 12+ lets the person choose "approximate": a fix all the same). */
    private fun hasLocationPermission(): Boolean = GpsLocation.permitted(this)

    override fun onRequestPermissionsResult(requestCode: Int, permissions: Array<out String>, results: IntArray) {
        if (requestCode != LOCATION_PERMISSION) return
        // Refused or not, the core hears of it: the location provider answers with the reason.
        locationPath?.let { app.session.send(FieldEvent.CaptureLocation(it)) }
        locationPath = null
        // Refused with "don't ask again" (the system no longer asks): the only way left is the app's settings.
        if (!hasLocationPermission() &&
            !shouldShowRequestPermissionRationale(Manifest.permission.ACCESS_COARSE_LOCATION)
        ) {
            val words = Localized.resources(this, shown?.lang ?: Lang.ID)
            AlertDialog.Builder(this)
                .setMessage(words.getString(R.string.gps_permission_settings))
                .setPositiveButton(words.getString(R.string.open_settings)) { _, _ -> openAppSettings() }
                .setNegativeButton(words.getString(R.string.no), null)
                .show()
        }
    }

    private fun openAppSettings() {
        startActivity(
            Intent(Settings.ACTION_APPLICATION_DETAILS_SETTINGS, Uri.fromParts("package", packageName, null))
                .addFlags(Intent.FLAG_ACTIVITY_NEW_TASK),
        )
    }

    @Deprecated("Activity results are the framework's way on API 24–29 without AndroidX")
    override fun onActivityResult(requestCode: Int, resultCode: Int, data: Intent?) {
        when (val outcome = app.camera.onResult(requestCode, resultCode)) {
            CameraBridge.Outcome.NotOurs -> super.onActivityResult(requestCode, resultCode, data)
            CameraBridge.Outcome.Answered -> {}
            // The process died while the camera was open: this is a new one. Back to the visit, and the core asks
            // for the photo again; the bridge answers with the file the camera wrote.
            is CameraBridge.Outcome.Recovered -> {
                app.session.send(FieldEvent.OpenVisit(outcome.visitId))
                outcome.sectionIndex?.let { app.session.send(FieldEvent.GoToSection(it)) }
                if (outcome.taken) app.session.send(FieldEvent.TakePhoto(outcome.path))
            }
        }
    }

    @Deprecated("Back handling without AndroidX on API 24–32")
    @Suppress("DEPRECATION") // the framework's own back handling, called on every API level at targetSdk 35
    override fun onBackPressed() {
        when (val screen = shown?.screen) {
            is Screen.Visit -> send(if (screen.v1.member != null) FieldEvent.CloseMember else FieldEvent.CloseVisit)
            is Screen.Finalise -> send(FieldEvent.PreviousSection)
            else -> super.onBackPressed()
        }
    }

    override fun onCreateOptionsMenu(menu: Menu): Boolean {
        val words = Localized.resources(this, shown?.lang ?: Lang.ID)
        menu.add(Menu.NONE, MENU_SYNC, Menu.NONE, words.getString(R.string.sync_now))
        menu.add(Menu.NONE, MENU_LANGUAGE, Menu.NONE, words.getString(R.string.language))
        return true
    }

    override fun onOptionsItemSelected(item: MenuItem): Boolean {
        when (item.itemId) {
            MENU_SYNC -> send(FieldEvent.SyncNow)
            MENU_LANGUAGE -> send(FieldEvent.SetLanguage(if (shown?.lang == Lang.EN) Lang.ID else Lang.EN))
            else -> return super.onOptionsItemSelected(item)
        }
        return true
    }

    private fun showConnection(online: Boolean) {
        val words = Localized.resources(this, shown?.lang ?: Lang.ID)
        val pad = (8 * resources.displayMetrics.density).toInt()
        connection.setPadding(pad * 2, pad / 2, pad * 2, pad / 2)
        connection.text = words.getString(if (online) R.string.online else R.string.offline)
        connection.setTextColor(getColor(if (online) R.color.success else R.color.error))
        connection.setBackgroundColor(getColor(if (online) R.color.current else R.color.banner))
    }

    /**
     * Draws the view model. The same page (same visit, section, member) is updated in place: the box being typed
     * in, with its text, cursor and keyboard, is never taken down by a redraw (a GPS fix, a sync, a finding); a
     * new page replaces the old one and starts at the top.
     */
    private fun draw(view: ViewModel?) {
        val languageChanged = view?.lang != shown?.lang
        val place = view?.let(::placeOf)
        shown = view
        if (languageChanged) {
            invalidateOptionsMenu()
            showConnection(app.network.online)
        }
        val ui = Ui(this, Localized.resources(this, view?.lang ?: Lang.ID), ::send)
        top.removeAllViews()
        val today = (view?.screen as? Screen.Today)?.v1
        if (today == null) todayScreen.leave()
        scroll.visibility = if (today != null) View.GONE else View.VISIBLE
        if (view == null) {
            page = null
            content.removeAllViews()
            content.add(ui.column(16).apply { add(ui.text(ui.string(R.string.loading))) })
            return
        }
        top.add(ui.syncBar(view.sync, view.user))
        view.notice?.let { top.add(ui.notice(it)) }
        if (today != null) {
            // The list page is its own (recycling) view; the scroll page is left for the next visit.
            val fixed = buildList {
                if (view.user == null) {
                    if (app.serverUrl != null) add(ui.enrolmentItem(::enrol))
                    add(ui.rebuilt("setup") { ui.setupBanner(app.serverProblem, app.serverUrl != null, it) })
                }
            }
            todayScreen.show(ui, today, fixed)
            page = null
            shownPlace = "today"
            content.removeAllViews()
            return
        }
        val current = page?.takeIf { place == shownPlace && !languageChanged } ?: KeyedColumn(this).also {
            val padding = ui.dp(16)
            it.setPadding(padding, padding, padding, padding)
            content.removeAllViews()
            content.add(it)
            scroll.scrollTo(0, 0)
        }
        page = current
        shownPlace = place
        current.show(
            when (val screen = view.screen) {
                Screen.Loading, is Screen.Today -> listOf(ui.rebuilt("loading") { it.add(ui.text(ui.string(R.string.loading))) })
                is Screen.Visit -> ui.visit(screen.v1)
                is Screen.Finalise -> ui.finalise(screen.v1)
            },
        )
    }

    /** Which page is up: the same place redraws in place, a new one starts at the top. */
    private fun placeOf(view: ViewModel): String = when (val screen = view.screen) {
        Screen.Loading -> "loading"
        is Screen.Today -> "today"
        is Screen.Visit -> "visit:${screen.v1.visitId}:${screen.v1.section}:${screen.v1.member?.let { "${it.repeatPath}[${it.index}]" }}"
        is Screen.Finalise -> "finalise:${screen.v1.visitId}"
    }

    private companion object {
        const val LOCATION_PERMISSION = 1
        const val MENU_SYNC = 1
        const val MENU_LANGUAGE = 2
    }
}
