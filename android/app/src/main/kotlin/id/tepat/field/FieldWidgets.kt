package id.tepat.field

import android.app.AlertDialog
import android.app.DatePickerDialog
import android.text.InputType
import android.text.method.DigitsKeyListener
import android.view.View
import android.widget.AdapterView
import android.widget.ArrayAdapter
import android.widget.CheckBox
import android.widget.LinearLayout
import android.widget.RadioButton
import android.widget.RadioGroup
import android.widget.Spinner
import id.tepat.core.ffi.AnswerView
import id.tepat.core.ffi.FieldEvent
import id.tepat.core.ffi.FieldType
import id.tepat.core.ffi.FieldView
import id.tepat.core.ffi.Keyboard
import id.tepat.core.ffi.Level
import id.tepat.core.ffi.PrefillMark
import id.tepat.core.ffi.RegionLevelView
import java.util.Calendar

/**
 * One field of the visit as widgets: label, hint, the input for its type, what was refused, its findings. Kept
 * across redraws of its page ([KeyedColumn]) and brought up to date by [show]: a text box keeps what is being
 * typed in it, everything else is redrawn from the view model.
 */
class FieldBox(context: android.content.Context) : LinearLayout(context) {
    private val head = LinearLayout(context).apply { orientation = VERTICAL }
    private val input = LinearLayout(context).apply { orientation = VERTICAL }
    private val tail = LinearLayout(context).apply { orientation = VERTICAL }

    /** The typed answer's box, for the field types answered by typing (created once, then updated). */
    var answerBox: AnswerBox? = null
        private set

    init {
        orientation = VERTICAL
        add(head, input, tail)
    }

    fun show(ui: Ui, field: FieldView) = with(ui) {
        setPadding(0, dp(8), 0, dp(8))
        head.removeAllViews()
        tail.removeAllViews()
        val label = if (field.required) string(R.string.required_mark, field.label) else field.label
        head.add(text(label, bold = field.kind != FieldType.NOTE))
        field.hint?.let { head.add(small(it)) }
        // An answer from the registered record says so until it is confirmed or changed.
        field.prefill?.let { mark ->
            val (words, colour) = when (mark) {
                PrefillMark.PREFILLED -> string(R.string.prefill_to_check) to R.color.accent
                PrefillMark.CONFIRMED -> string(R.string.prefill_confirmed) to R.color.success
                PrefillMark.CHANGED -> string(R.string.prefill_changed) to R.color.primary
            }
            head.add(small(words, colour).apply { tag = "prefill:" + field.path })
        }
        val editable = !field.readOnly
        when (field.kind) {
            FieldType.TEXT, FieldType.NIK, FieldType.KK, FieldType.INTEGER, FieldType.DECIMAL, FieldType.DATE -> {
                val box = answerBox ?: AnswerBox(context).also {
                    answerBox = it
                    input.add(it)
                }
                box.showAnswer(ui, field, editable)
                if (field.kind == FieldType.DATE && editable) tail.add(datePicker(field))
            }
            else -> {
                input.removeAllViews()
                when (field.kind) {
                    FieldType.SELECT_ONE -> input.add(singleChoice(field, editable))
                    FieldType.SELECT_MULTIPLE -> input.add(multipleChoice(field, editable))
                    FieldType.REGION -> input.add(regionCascade(field, editable))
                    FieldType.GEOPOINT -> {
                        input.add(text(field.display ?: "—"))
                        if (editable) input.add(action(string(R.string.take_gps), FieldEvent.CaptureLocation(field.path)))
                    }
                    FieldType.PHOTO -> {
                        (field.answer as? AnswerView.Photo)?.let { photo -> thumbnail(photo.file)?.let { input.add(it) } }
                        input.add(text(field.display ?: "—"))
                        if (editable) input.add(action(string(R.string.take_photo), FieldEvent.TakePhoto(field.path)))
                    }
                    FieldType.CALCULATE -> input.add(text(field.display ?: "—", colorId = R.color.muted))
                    FieldType.REPEAT -> input.add(roster(field, editable))
                    else -> {}
                }
            }
        }
        if (editable && field.answer != AnswerView.Empty && field.kind.clearable()) {
            tail.add(button(string(R.string.clear)) { send(FieldEvent.Clear(field.path)) })
        }
        field.inputError?.let { tail.add(small("${it.message} (“${it.typed}”)", R.color.error)) }
        for (finding in field.findings) {
            val colour = if (finding.level == Level.ERROR) R.color.error else R.color.warning
            tail.add(small(finding.text, colour))
        }
        field.note?.let { tail.add(small("✎ $it")) }
        // A returned visit's comment pinned to this field: said where the correction is needed.
        field.supervisorComment?.let { tail.add(small(string(R.string.supervisor_comment, it), R.color.warning)) }
    }
}

/** The page item of one field: kept by its path (and type) across redraws. */
fun Ui.fieldItem(field: FieldView): KeyedColumn.Item = KeyedColumn.Item(
    "field:${field.path}:${field.kind}",
    make = { FieldBox(context).also { it.show(this, field) } },
    update = { (it as FieldBox).show(this, field) },
)

private fun FieldType.clearable(): Boolean = when (this) {
    FieldType.SELECT_ONE, FieldType.GEOPOINT, FieldType.PHOTO, FieldType.REGION, FieldType.DATE -> true
    else -> false
}

/** Typed answers are sent when the person leaves the box or presses Done, and only when they changed. */
private fun AnswerBox.showAnswer(ui: Ui, field: FieldView, editable: Boolean) {
    tag = field.path
    isEnabled = editable
    val wanted = inputTypeFor(field.keyboard)
    // Setting it restarts the keyboard: only when it changes.
    if (inputType != wanted) {
        inputType = wanted
        if (field.keyboard == Keyboard.DECIMAL) {
            // The number pad, accepting a decimal comma as Indonesians write it (`0,25`) as well as a point; the
            // core reads both. The key listener would otherwise allow only the point.
            keyListener = DigitsKeyListener.getInstance("0123456789-,.")
            setRawInputType(wanted)
        }
        if (field.keyboard == Keyboard.LONG_TEXT) {
            isSingleLine = false
            minLines = 3
            maxLines = 8
            gravity = android.view.Gravity.TOP or android.view.Gravity.START
        }
    }
    onCommit = { typed -> ui.send(FieldEvent.Answer(field.path, typed)) }
    // What the form engine reads back: dates as YYYY-MM-DD, numbers as shown, text as typed.
    val current = when (val answer = field.answer) {
        is AnswerView.Text -> answer.value
        is AnswerView.Date -> answer.value
        AnswerView.Empty -> ""
        else -> field.display ?: ""
    }
    show(field.inputError?.typed ?: current)
}

/**
 * The keyboard for a typed answer, from the core's [Keyboard] (the field's type and format rule): the number pad
 * for NIK/KK, RT/RW, postcodes and meter IDs, the phone pad for phone numbers, several lines for long text.
 */
fun inputTypeFor(keyboard: Keyboard): Int = when (keyboard) {
    Keyboard.DIGITS -> InputType.TYPE_CLASS_NUMBER
    Keyboard.PHONE -> InputType.TYPE_CLASS_PHONE
    Keyboard.INTEGER -> InputType.TYPE_CLASS_NUMBER or InputType.TYPE_NUMBER_FLAG_SIGNED
    Keyboard.DECIMAL -> InputType.TYPE_CLASS_NUMBER or InputType.TYPE_NUMBER_FLAG_DECIMAL or
        InputType.TYPE_NUMBER_FLAG_SIGNED
    Keyboard.DATE -> InputType.TYPE_CLASS_DATETIME or InputType.TYPE_DATETIME_VARIATION_DATE
    Keyboard.LONG_TEXT -> InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_FLAG_CAP_SENTENCES or
        InputType.TYPE_TEXT_FLAG_MULTI_LINE
    Keyboard.TEXT, Keyboard.NONE -> InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_FLAG_CAP_WORDS
}

/** A date as the core reads it (YYYY-MM-DD, ASCII digits whatever the phone's language); [month] from 1. */
fun isoDate(year: Int, month: Int, day: Int): String =
    String.format(java.util.Locale.ROOT, "%04d-%02d-%02d", year, month, day)

private fun Ui.datePicker(field: FieldView): View = button(string(R.string.pick_date)) {
    val now = Calendar.getInstance()
    val (year, month, day) = (field.answer as? AnswerView.Date)?.value?.split("-")
        ?.mapNotNull { it.toIntOrNull() }
        ?.takeIf { it.size == 3 }
        ?.let { Triple(it[0], it[1] - 1, it[2]) }
        ?: Triple(now.get(Calendar.YEAR), now.get(Calendar.MONTH), now.get(Calendar.DAY_OF_MONTH))
    DatePickerDialog(context, { _, y, m, d ->
        send(FieldEvent.Answer(field.path, isoDate(y, m + 1, d)))
    }, year, month, day).show()
}

private fun Ui.singleChoice(field: FieldView, editable: Boolean): RadioGroup {
    val group = RadioGroup(context)
    for (choice in field.choices) {
        val button = RadioButton(context).apply {
            id = View.generateViewId()
            text = choice.label
            isChecked = choice.selected
            isEnabled = editable
            setOnClickListener { if (!choice.selected) send(FieldEvent.Choose(field.path, choice.code)) }
        }
        group.addView(button)
    }
    return group
}

private fun Ui.multipleChoice(field: FieldView, editable: Boolean): LinearLayout {
    val box = column()
    for (choice in field.choices) {
        box.add(CheckBox(context).apply {
            text = choice.label
            isChecked = choice.selected
            isEnabled = editable
            setOnClickListener { send(FieldEvent.Choose(field.path, choice.code)) }
        })
    }
    return box
}

/** Province → regency → district → village: each level lists the regions under the level above. */
private fun Ui.regionCascade(field: FieldView, editable: Boolean): LinearLayout {
    val box = column()
    for (level in field.region) {
        box.add(small(level.level))
        box.add(regionSpinner(field.path, level, editable))
    }
    field.display?.let { box.add(small(it)) }
    return box
}

private fun Ui.regionSpinner(path: String, level: RegionLevelView, editable: Boolean): Spinner {
    val labels = listOf(string(R.string.region_pick)) + level.choices.map { it.label }
    val selected = level.choices.indexOfFirst { it.code == level.selected?.code } + 1
    return Spinner(context).apply {
        adapter = ArrayAdapter(context, android.R.layout.simple_spinner_dropdown_item, labels)
        setSelection(selected, false)
        isEnabled = editable && level.choices.isNotEmpty()
        onItemSelectedListener = object : AdapterView.OnItemSelectedListener {
            override fun onItemSelected(parent: AdapterView<*>?, view: View?, position: Int, id: Long) {
                // Drawing the spinner selects the current item too: only a different pick is news.
                if (position == selected || position == 0) return
                level.choices.getOrNull(position - 1)?.let { send(FieldEvent.ChooseRegion(path, it.code)) }
            }

            override fun onNothingSelected(parent: AdapterView<*>?) {}
        }
    }
}

/** The member roster: one line per member with its findings, open and remove; add a member. */
private fun Ui.roster(field: FieldView, editable: Boolean): LinearLayout {
    val box = column()
    field.display?.let { box.add(small(it)) }
    for (member in field.members) {
        val line = row()
        val about = column()
        about.add(text(member.title))
        if (member.errors > 0u || member.warnings > 0u) {
            val colour = if (member.errors > 0u) R.color.error else R.color.warning
            about.add(small(string(R.string.member_findings, member.errors.toInt(), member.warnings.toInt()), colour))
        }
        line.addWeighted(about)
        line.addView(action(string(R.string.open_member), FieldEvent.OpenMember(field.path, member.index)))
        if (editable) {
            line.addView(button(string(R.string.remove_member)) {
                AlertDialog.Builder(context)
                    .setTitle(member.title)
                    .setMessage(string(R.string.remove_member_confirm))
                    .setPositiveButton(string(R.string.yes)) { _, _ ->
                        send(FieldEvent.RemoveMember(field.path, member.index))
                    }
                    .setNegativeButton(string(R.string.no), null)
                    .show()
            })
        }
        box.add(line)
    }
    if (field.canAddMember) box.add(action(string(R.string.add_member), FieldEvent.AddMember(field.path)))
    return box
}
