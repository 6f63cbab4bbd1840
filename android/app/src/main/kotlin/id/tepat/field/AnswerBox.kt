package id.tepat.field

import android.content.Context
import android.view.inputmethod.EditorInfo
import android.widget.EditText

/**
 * A text box that outlives redraws: what the person is typing stays as typed until they leave the box (or press
 * Done), and is then committed once through [onCommit]. A new value from the core is shown only while the person
 * is not editing (the box has no focus, or holds exactly what was last committed or shown).
 */
class AnswerBox(context: Context) : EditText(context) {
    /** Called with the typed text when it differs from what was last committed or shown. */
    var onCommit: (String) -> Unit = {}

    /** What the core last had (shown or committed by us): typing differs from it until committed. */
    private var sent: String = ""

    init {
        imeOptions = EditorInfo.IME_ACTION_DONE
        setOnFocusChangeListener { _, focused -> if (!focused) commit() }
        setOnEditorActionListener { _, action, _ ->
            if (action == EditorInfo.IME_ACTION_DONE) commit()
            false
        }
    }

    /** Whether the person has typed something not committed yet. */
    val editing: Boolean get() = text.toString() != sent

    /** The core's value for this box, shown unless the person is typing in it. */
    fun show(fromCore: String) {
        if (editing && hasFocus()) return
        if (text.toString() != fromCore) setText(fromCore)
        sent = fromCore
    }

    /** Commits what is typed, if it is new. */
    fun commit() {
        val typed = text.toString()
        if (typed != sent) {
            sent = typed
            onCommit(typed)
        }
    }
}
