package id.tepat.field

import android.app.AlertDialog
import android.app.DatePickerDialog
import android.text.InputType
import android.view.View
import android.view.inputmethod.EditorInfo
import android.widget.AdapterView
import android.widget.ArrayAdapter
import android.widget.CheckBox
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.RadioButton
import android.widget.RadioGroup
import android.widget.Spinner
import id.tepat.core.ffi.AnswerView
import id.tepat.core.ffi.FieldEvent
import id.tepat.core.ffi.FieldType
import id.tepat.core.ffi.FieldView
import id.tepat.core.ffi.Level
import id.tepat.core.ffi.RegionLevelView
import java.util.Calendar

/** One field of the visit as widgets: label, hint, the input for its type, what was refused, its findings. */
fun Ui.field(field: FieldView): View {
    val box = column()
    box.setPadding(0, dp(8), 0, dp(8))
    val label = if (field.required) string(R.string.required_mark, field.label) else field.label
    box.add(text(label, bold = field.kind != FieldType.NOTE))
    field.hint?.let { box.add(small(it)) }
    val editable = !field.readOnly
    when (field.kind) {
        FieldType.TEXT, FieldType.NIK, FieldType.KK, FieldType.INTEGER, FieldType.DECIMAL ->
            box.add(textInput(field, editable))
        FieldType.DATE -> box.add(dateInput(field, editable))
        FieldType.SELECT_ONE -> box.add(singleChoice(field, editable))
        FieldType.SELECT_MULTIPLE -> box.add(multipleChoice(field, editable))
        FieldType.REGION -> box.add(regionCascade(field, editable))
        FieldType.GEOPOINT -> {
            box.add(text(field.display ?: "—"))
            if (editable) box.add(action(string(R.string.take_gps), FieldEvent.CaptureLocation(field.path)))
        }
        FieldType.PHOTO -> {
            box.add(text(field.display ?: "—"))
            if (editable) box.add(action(string(R.string.take_photo), FieldEvent.TakePhoto(field.path)))
        }
        FieldType.CALCULATE -> box.add(text(field.display ?: "—", colorId = R.color.muted))
        FieldType.NOTE -> {}
        FieldType.REPEAT -> box.add(roster(field, editable))
    }
    if (editable && field.answer != AnswerView.Empty && field.kind.clearable()) {
        box.add(button(string(R.string.clear)) { send(FieldEvent.Clear(field.path)) })
    }
    field.inputError?.let { box.add(small("${it.message} (“${it.typed}”)", R.color.error)) }
    for (finding in field.findings) {
        val colour = if (finding.level == Level.ERROR) R.color.error else R.color.warning
        box.add(small(finding.text, colour))
    }
    field.note?.let { box.add(small("✎ $it")) }
    return box
}

private fun FieldType.clearable(): Boolean = when (this) {
    FieldType.SELECT_ONE, FieldType.GEOPOINT, FieldType.PHOTO, FieldType.REGION, FieldType.DATE -> true
    else -> false
}

/** Typed answers are sent when the person leaves the box or presses Done, and only when they changed. */
private fun Ui.textInput(field: FieldView, editable: Boolean): EditText {
    // What the form engine reads back: dates as YYYY-MM-DD, numbers as shown, text as typed.
    val current = when (val answer = field.answer) {
        is AnswerView.Text -> answer.value
        is AnswerView.Date -> answer.value
        AnswerView.Empty -> ""
        else -> field.display ?: ""
    }
    val shown = field.inputError?.typed ?: current
    return EditText(context).apply {
        tag = field.path
        setText(shown)
        isEnabled = editable
        inputType = when (field.kind) {
            FieldType.NIK, FieldType.KK -> InputType.TYPE_CLASS_NUMBER
            FieldType.INTEGER -> InputType.TYPE_CLASS_NUMBER or InputType.TYPE_NUMBER_FLAG_SIGNED
            FieldType.DECIMAL -> InputType.TYPE_CLASS_NUMBER or InputType.TYPE_NUMBER_FLAG_DECIMAL or
                InputType.TYPE_NUMBER_FLAG_SIGNED
            else -> InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_FLAG_CAP_WORDS
        }
        imeOptions = EditorInfo.IME_ACTION_DONE
        var sent = shown
        val commit = {
            val typed = text.toString()
            if (typed != sent) {
                sent = typed
                send(FieldEvent.Answer(field.path, typed))
            }
        }
        setOnFocusChangeListener { _, focused -> if (!focused) commit() }
        setOnEditorActionListener { _, action, _ ->
            if (action == EditorInfo.IME_ACTION_DONE) commit()
            false
        }
    }
}

private fun Ui.dateInput(field: FieldView, editable: Boolean): View {
    val box = column()
    box.add(textInput(field, editable))
    if (editable) {
        box.add(button(string(R.string.pick_date)) {
            val now = Calendar.getInstance()
            val (year, month, day) = (field.answer as? AnswerView.Date)?.value?.split("-")
                ?.mapNotNull { it.toIntOrNull() }
                ?.takeIf { it.size == 3 }
                ?.let { Triple(it[0], it[1] - 1, it[2]) }
                ?: Triple(now.get(Calendar.YEAR), now.get(Calendar.MONTH), now.get(Calendar.DAY_OF_MONTH))
            DatePickerDialog(context, { _, y, m, d ->
                send(FieldEvent.Answer(field.path, "%04d-%02d-%02d".format(y, m + 1, d)))
            }, year, month, day).show()
        })
    }
    return box
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
