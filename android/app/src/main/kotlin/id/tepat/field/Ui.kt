package id.tepat.field

import android.content.Context
import android.content.res.Resources
import android.graphics.Typeface
import android.util.TypedValue
import android.view.View
import android.view.ViewGroup
import android.widget.Button
import android.widget.LinearLayout
import android.widget.TextView
import id.tepat.core.ffi.FieldEvent

/**
 * Small builders for views made in code (screens are drawn from the core's view model, so their shape is data):
 * framework widgets only, large touch targets, no nested layouts deeper than needed on low-end phones.
 */
class Ui(val context: Context, val words: Resources, val send: (FieldEvent) -> Unit) {
    private val density = context.resources.displayMetrics.density

    fun dp(value: Int): Int = (value * density).toInt()

    fun string(id: Int, vararg args: Any): String = words.getString(id, *args)

    fun color(id: Int): Int = context.resources.getColor(id, null)

    fun column(padding: Int = 0): LinearLayout = LinearLayout(context).apply {
        orientation = LinearLayout.VERTICAL
        setPadding(dp(padding), dp(padding), dp(padding), dp(padding))
    }

    fun row(): LinearLayout = LinearLayout(context).apply { orientation = LinearLayout.HORIZONTAL }

    fun text(value: String, size: Int = R.dimen.body, bold: Boolean = false, colorId: Int? = null): TextView =
        TextView(context).apply {
            text = value
            setTextSize(TypedValue.COMPLEX_UNIT_PX, context.resources.getDimension(size))
            if (bold) setTypeface(typeface, Typeface.BOLD)
            colorId?.let { setTextColor(color(it)) }
            setPadding(0, dp(2), 0, dp(2))
        }

    fun title(value: String): TextView = text(value, R.dimen.title, bold = true)

    fun small(value: String, colorId: Int = R.color.muted): TextView = text(value, R.dimen.small, colorId = colorId)

    /** A highlighted block: supervisor comments, banners, notices. */
    fun banner(value: String, colorId: Int = R.color.banner): TextView = text(value).apply {
        setBackgroundColor(color(colorId))
        setPadding(dp(12), dp(8), dp(12), dp(8))
    }

    fun button(label: String, enabled: Boolean = true, onClick: () -> Unit): Button = Button(context).apply {
        text = label
        isEnabled = enabled
        setAllCaps(false)
        setOnClickListener { onClick() }
    }

    /** A button that sends [event]. */
    fun action(label: String, event: FieldEvent, enabled: Boolean = true): Button =
        button(label, enabled) { send(event) }

    fun gap(height: Int = 8): View = View(context).apply {
        layoutParams = LinearLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, dp(height))
    }

    fun divider(): View = View(context).apply {
        layoutParams = LinearLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, dp(1)).apply {
            topMargin = dp(8)
            bottomMargin = dp(8)
        }
        setBackgroundColor(color(R.color.muted))
        alpha = 0.3f
    }
}

/** Adds [views] to a layout, full width. */
fun ViewGroup.add(vararg views: View): ViewGroup {
    for (view in views) {
        if (view.layoutParams == null) {
            view.layoutParams = LinearLayout.LayoutParams(
                ViewGroup.LayoutParams.MATCH_PARENT,
                ViewGroup.LayoutParams.WRAP_CONTENT,
            )
        }
        addView(view)
    }
    return this
}

/** Adds [views] side by side, sharing the width equally. */
fun LinearLayout.addWeighted(vararg views: View): LinearLayout {
    for (view in views) {
        view.layoutParams = LinearLayout.LayoutParams(0, ViewGroup.LayoutParams.WRAP_CONTENT, 1f)
        addView(view)
    }
    return this
}
