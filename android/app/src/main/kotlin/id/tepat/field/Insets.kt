package id.tepat.field

import android.os.Build
import android.view.View
import android.view.WindowInsets

/**
 * Edge-to-edge (enforced for apps targeting API 35 on Android 15+): the window reaches under the status bar, the
 * navigation bar and the keyboard, and `adjustResize` no longer shrinks it. The root pads itself by the system
 * bars and the display cutout, and at the bottom by whichever is taller, the navigation bar or the keyboard, so
 * nothing is drawn under them and the field being typed in can scroll above the keyboard.
 */
object Insets {
    fun apply(view: View, insets: WindowInsets): WindowInsets {
        // Before Android 11 the window is not edge-to-edge here: the system fits it between the bars itself.
        if (Build.VERSION.SDK_INT < Build.VERSION_CODES.R) return insets
        val bars = insets.getInsets(WindowInsets.Type.systemBars() or WindowInsets.Type.displayCutout())
        val keyboard = insets.getInsets(WindowInsets.Type.ime())
        view.setPadding(bars.left, bars.top, bars.right, maxOf(bars.bottom, keyboard.bottom))
        return WindowInsets.CONSUMED
    }
}
