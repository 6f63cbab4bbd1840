package id.tepat.field

import android.Manifest
import android.app.Activity
import android.content.Intent
import android.content.pm.PackageManager
import android.os.Bundle
import android.os.Handler
import android.os.Looper
import android.view.Menu
import android.view.MenuItem
import android.view.View
import android.view.ViewGroup
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.Toast
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
    private var shown: ViewModel? = null
    private var shownPlace: String? = null

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
        val root = LinearLayout(this).apply { orientation = LinearLayout.VERTICAL }
        root.add(top)
        root.addView(scroll, LinearLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, 0, 1f))
        setContentView(root)
        draw(null)
    }

    override fun onResume() {
        super.onResume()
        app.camera.host = this
        app.session.addListener(this)
    }

    override fun onPause() {
        // Whatever is typed in the box that has the focus is answered before the screen goes.
        currentFocus?.clearFocus()
        app.session.removeListener(this)
        app.camera.host = null
        app.session.flush()
        super.onPause()
    }

    override fun onView(view: ViewModel) {
        main.post { draw(view) }
    }

    override fun onError(error: Exception) {
        main.post {
            val words = Localized.resources(this, shown?.lang ?: Lang.ID)
            val text = when (error) {
                // Said in the person's words by the core already.
                is FieldException.Enrol -> error.detail
                is FieldException.BadInput -> error.detail
                is FieldException.Store -> words.getString(R.string.core_error, error.detail)
                else -> words.getString(R.string.core_error, error.message ?: "$error")
            }
            Toast.makeText(this, text, Toast.LENGTH_LONG).show()
        }
    }

    private fun send(event: FieldEvent) {
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

    private fun hasLocationPermission(): Boolean =
        checkSelfPermission(Manifest.permission.ACCESS_FINE_LOCATION) == PackageManager.PERMISSION_GRANTED

    override fun onRequestPermissionsResult(requestCode: Int, permissions: Array<out String>, results: IntArray) {
        if (requestCode != LOCATION_PERMISSION) return
        // Refused or not, the core hears of it: the location provider answers with the reason.
        locationPath?.let { app.session.send(FieldEvent.CaptureLocation(it)) }
        locationPath = null
    }

    @Deprecated("Activity results are the framework's way on API 24–29 without AndroidX")
    override fun onActivityResult(requestCode: Int, resultCode: Int, data: Intent?) {
        if (!app.camera.onResult(requestCode, resultCode)) super.onActivityResult(requestCode, resultCode, data)
    }

    @Deprecated("Back handling without AndroidX on API 24–32")
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

    /** Redraws from the view model; keeps the scroll position and the focused box while the page stays. */
    private fun draw(view: ViewModel?) {
        val languageChanged = view?.lang != shown?.lang
        val focusedTag = currentFocus?.tag as? String
        val place = view?.let(::placeOf)
        val keepScroll = place != null && place == shownPlace
        val scrollY = scroll.scrollY
        shown = view
        shownPlace = place
        if (languageChanged) invalidateOptionsMenu()
        val ui = Ui(this, Localized.resources(this, view?.lang ?: Lang.ID), ::send)
        top.removeAllViews()
        content.removeAllViews()
        val page = ui.column(16)
        content.add(page)
        if (view == null) {
            page.add(ui.text(ui.string(R.string.loading)))
            return
        }
        top.add(ui.syncBar(view.sync, view.user))
        view.notice?.let { top.add(ui.notice(it)) }
        when (val screen = view.screen) {
            Screen.Loading -> page.add(ui.text(ui.string(R.string.loading)))
            is Screen.Today -> {
                if (view.user == null) ui.enrolment(app.serverUrl != null, ::enrol, page)
                ui.today(screen.v1, page)
            }
            is Screen.Visit -> ui.visit(screen.v1, page)
            is Screen.Finalise -> ui.finalise(screen.v1, page)
        }
        if (keepScroll) scroll.post { scroll.scrollTo(0, scrollY) } else scroll.scrollTo(0, 0)
        focusedTag?.let { tag ->
            (content.findViewWithTag(tag) as? EditText)?.let { box ->
                box.requestFocus()
                box.setSelection(box.text.length)
            }
        }
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
