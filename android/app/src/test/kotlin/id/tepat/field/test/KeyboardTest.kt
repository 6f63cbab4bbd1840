package id.tepat.field.test

import android.app.DatePickerDialog
import android.content.DialogInterface
import android.text.InputType
import android.text.SpannedString
import id.tepat.core.ffi.AnswerView
import id.tepat.core.ffi.FieldEvent
import id.tepat.core.ffi.Screen
import id.tepat.field.AnswerBox
import id.tepat.field.MainActivity
import id.tepat.field.R
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowDialog
import java.util.Calendar

/** One DTSEN ground check (the bundled form), with its registered address. */
const val DTSEN_ASSIGNMENT = """[
  {"assignment_id": "D-1", "form_id": "dtsen_groundcheck", "form_version": 1, "region_code": "17.71.01.1001",
   "label": "Wati · RT 003", "prefill": {"head_name": "Wati", "head_nik": "1771014506900001", "rt": "003",
   "rw": "002", "address": "Jl. Melati No. 4", "dusun": "Melati"}}
]"""

/** Issue 12: the keyboard follows the field (numbers, phones, RT/RW, postcodes, meter IDs, long text); dates. */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class KeyboardTest {
    @After
    fun close() = app.session.close()

    private fun MainActivity.box(path: String): AnswerBox =
        window.decorView.allOf<AnswerBox>().singleOrNull { it.tag == path } ?: throw AssertionError("no box $path")

    private fun visit() = (app.session.views.value?.screen as? Screen.Visit)?.v1

    private val number = InputType.TYPE_CLASS_NUMBER
    private val phone = InputType.TYPE_CLASS_PHONE
    private val capWords = InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_FLAG_CAP_WORDS
    private val lines = InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_FLAG_CAP_SENTENCES or
        InputType.TYPE_TEXT_FLAG_MULTI_LINE

    @Test
    fun each_field_of_the_dtsen_form_gets_the_keyboard_of_its_kind() {
        val activity = launch().get()
        useEnumerator()
        dispatch(FieldEvent.ImportAssignments(DTSEN_ASSIGNMENT))
        dispatch(FieldEvent.OpenAssignment("D-1"))
        dispatch(FieldEvent.Choose("visit_outcome", "1"))
        val identity = visit()!!.sections.first { it.title.startsWith("Blok I ") }.index
        dispatch(FieldEvent.GoToSection(identity))
        val expected = mapOf(
            "head_name" to capWords,
            "head_nik" to number,
            "kk_number" to number,
            "kk_member_count" to (number or InputType.TYPE_NUMBER_FLAG_SIGNED),
            "rt" to number,
            "rw" to number,
            "postcode" to number,
            "respondent_phone" to phone,
            "street_address" to lines,
        )
        for ((path, inputType) in expected) {
            assertEquals(path, inputType, activity.box(path).inputType)
        }
        val address = activity.box("street_address")
        assertTrue("several lines for an address", address.minLines >= 3)
        assertEquals("Jl. Melati No. 4", address.text.toString())

        // The house block: PLN customer and meter IDs (asked once lighting is PLN) on the number pad.
        val house = visit()!!.sections.first { it.title.startsWith("Blok II ") }.index
        dispatch(FieldEvent.GoToSection(house))
        dispatch(FieldEvent.Choose("lighting", "1"))
        assertEquals(number, activity.box("pln_customer_id").inputType)
        assertEquals(number, activity.box("pln_meter_number").inputType)
        assertEquals(number or InputType.TYPE_NUMBER_FLAG_SIGNED, activity.box("floor_area").inputType)

        // Assets: grams of gold with decimals, typed with a comma as Indonesians write them.
        val assets = visit()!!.sections.first { it.title.startsWith("Blok III ") }.index
        dispatch(FieldEvent.GoToSection(assets))
        val gold = activity.box("gold_grams")
        assertEquals(number or InputType.TYPE_NUMBER_FLAG_DECIMAL or InputType.TYPE_NUMBER_FLAG_SIGNED, gold.inputType)
        assertNull("a comma is accepted", gold.keyListener.let { it as android.text.InputFilter }.filter(",", 0, 1, SpannedString(""), 0, 0))

        // The last block's note for the supervisor: several lines.
        val last = visit()!!.sections.last().index
        dispatch(FieldEvent.GoToSection(last))
        assertEquals(lines, activity.box("enumerator_note").inputType)
    }

    private fun MainActivity.openPicker(): DatePickerDialog {
        val label = words(this).getString(R.string.pick_date)
        window.decorView.allOf<android.widget.Button>().single { it.text == label }.performClick()
        return ShadowDialog.getLatestDialog() as DatePickerDialog
    }

    @Test
    fun the_date_picker_opens_at_the_current_answer_and_answers_the_date_picked() {
        val activity = launch().get()
        openFoundVisit(1u)
        assertEquals(InputType.TYPE_CLASS_DATETIME or InputType.TYPE_DATETIME_VARIATION_DATE, activity.box("visit_day").inputType)

        // No answer yet: today.
        val now = Calendar.getInstance()
        var picker = activity.openPicker()
        assertEquals(now.get(Calendar.YEAR), picker.datePicker.year)
        assertEquals(now.get(Calendar.MONTH), picker.datePicker.month)
        assertEquals(now.get(Calendar.DAY_OF_MONTH), picker.datePicker.dayOfMonth)
        picker.dismiss()

        dispatch(FieldEvent.Answer("visit_day", "2019-05-12"))
        picker = activity.openPicker()
        assertEquals(2019, picker.datePicker.year)
        assertEquals("May (months count from 0)", 4, picker.datePicker.month)
        assertEquals(12, picker.datePicker.dayOfMonth)

        picker.updateDate(2020, 0, 31)
        picker.getButton(DialogInterface.BUTTON_POSITIVE).performClick()
        settle()
        assertEquals(AnswerView.Date("2020-01-31"), visit()!!.fields.single { it.path == "visit_day" }.answer)
    }
}
