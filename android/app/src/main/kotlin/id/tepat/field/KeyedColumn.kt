package id.tepat.field

import android.content.Context
import android.view.View
import android.view.ViewGroup
import android.widget.LinearLayout

/**
 * A column whose children are kept by key across redraws: a child whose key stays is updated in place (never
 * removed and added again), new keys are inserted where they belong, gone keys are removed.
 *
 * Why: removing the box that has the focus fires its focus listener (committing half-typed text), restarts the
 * keyboard and moves the cursor; filling a new box from an older view model flips the text back. A redraw on the
 * same page (a GPS fix, a sync, a finding appearing) must leave the box being typed in alone.
 */
class KeyedColumn(context: Context) : LinearLayout(context) {
    /** One child: [make] builds it the first time, [update] brings it up to date on every later redraw. */
    class Item(val key: String, val make: () -> View, val update: (View) -> Unit)

    private val keys = mutableListOf<String>()

    init {
        orientation = VERTICAL
    }

    /** The keys shown, in order (tests). */
    val shownKeys: List<String> get() = keys.toList()

    fun show(items: List<Item>) {
        val wanted = items.map { it.key }
        require(wanted.toSet().size == wanted.size) { "duplicate keys in a page: $wanted" }
        for (index in keys.indices.reversed()) {
            if (keys[index] !in wanted) {
                removeViewAt(index)
                keys.removeAt(index)
            }
        }
        // The children that stay must already be in the new order; if the order changed (rare), start over.
        if (wanted.filter { it in keys } != keys) {
            removeAllViews()
            keys.clear()
        }
        items.forEachIndexed { index, item ->
            if (keys.getOrNull(index) == item.key) {
                item.update(getChildAt(index))
            } else {
                val view = item.make()
                view.layoutParams = LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT)
                addView(view, index)
                keys.add(index, item.key)
            }
        }
    }
}

/** An item redrawn whole each time (a column refilled by [fill]): for parts with nothing typed into them. */
fun Ui.rebuilt(key: String, fill: (LinearLayout) -> Unit): KeyedColumn.Item = KeyedColumn.Item(
    key,
    make = { column().also(fill) },
    update = { view ->
        (view as LinearLayout).removeAllViews()
        fill(view)
    },
)
