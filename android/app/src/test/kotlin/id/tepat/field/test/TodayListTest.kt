package id.tepat.field.test

import android.view.View
import id.tepat.core.ffi.FieldEvent
import id.tepat.core.ffi.ItemStatus
import id.tepat.core.ffi.Screen
import id.tepat.field.MainActivity
import id.tepat.field.RowView
import id.tepat.field.TodayFilter
import id.tepat.field.TodayRow
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertSame
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config

/** A month's assignments: 120 families of the test form in 3 dusun and 6 RTs, each with NIK and address. */
const val MONTH = 120
private val names = listOf("Siti", "Budi", "Wati", "Agus", "Dewi")
private val dusuns = listOf("Melati", "Kenanga", "Cempaka")

private fun id(i: Int) = "M-%03d".format(i)

private fun rt(i: Int) = "%03d".format(1 + i % 6)

private fun nik(i: Int) = "17710145069%05d".format(i)

val MONTH_OF_ASSIGNMENTS: String = (1..MONTH).joinToString(",", "[", "]") { i ->
    val name = "${names[i % names.size]} ${i}"
    """{"assignment_id": "${id(i)}", "form_id": "uji", "form_version": 1, "region_code": "17.71.01.1001",
        "label": "$name · RT ${rt(i)}", "prefill": {"head_name": "$name", "kk_member_count": "1",
        "head_nik": "${nik(i)}", "address": "Jl. Mawar No. $i", "rt": "${rt(i)}", "rw": "002",
        "dusun": "${dusuns[i % dusuns.size]}"}}"""
}

/**
 * Today's list (issue 12): search by name, NIK or address, filters by RT/dusun and by status, and a recycling list
 * that a tap redraws in place. On a common low-end phone's screen (360×640 dp).
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "w360dp-h640dp")
class TodayListTest {
    @After
    fun close() = app.session.close()

    private fun month(): MainActivity {
        val activity = launch().get()
        useEnumerator()
        dispatch(FieldEvent.ImportAssignments(MONTH_OF_ASSIGNMENTS))
        activity.layOut()
        return activity
    }

    private fun MainActivity.shownIds(): List<String> =
        todayScreen.adapter.shownRows.filterIsInstance<TodayRow.Assignment>().map { it.item.assignmentId }

    private fun MainActivity.search(text: String) {
        todayScreen.search.setText(text)
        settle()
        layOut()
    }

    @Test
    fun search_narrows_the_list_by_name_nik_or_address() {
        val activity = month()
        assertEquals(MONTH, activity.shownIds().size)

        activity.search("siti")
        val siti = (1..MONTH).filter { it % names.size == 0 }.map(::id)
        assertEquals(siti, activity.shownIds())

        activity.search(nik(42))
        assertEquals(listOf(id(42)), activity.shownIds())

        activity.search("mawar no. 117")
        assertEquals(listOf(id(117)), activity.shownIds())

        // Words in any order, any case; the list's header says how many of the month are shown.
        activity.search("KENANGA budi")
        val kenangaBudi = (1..MONTH).filter { it % names.size == 1 && it % dusuns.size == 1 }.map(::id)
        assertEquals(kenangaBudi, activity.shownIds())
        val header = words(activity).getString(id.tepat.field.R.string.shown_count, kenangaBudi.size, MONTH)
        assertTrue("$header not in ${activity.texts()}", activity.texts().any { it.contains(header) })

        activity.search("tidak ada yang begini")
        assertEquals(emptyList<String>(), activity.shownIds())
        assertTrue(activity.texts().contains(words(activity).getString(id.tepat.field.R.string.no_match)))

        activity.search("")
        assertEquals(MONTH, activity.shownIds().size)
    }

    @Test
    fun filters_by_rt_by_dusun_and_by_status() {
        val activity = month()
        val screen = activity.todayScreen
        // The place filter offers every dusun and RT of the month (and "all"), the status filter what occurs.
        assertEquals(1 + dusuns.size + 6, screen.places.adapter.count)
        assertEquals(2, screen.statuses.adapter.count)

        // Chosen on the spinner as a person does: RT 3 (written 003 in the register).
        val rt3 = (0 until screen.places.adapter.count).first { screen.places.adapter.getItem(it) == "RT 003" }
        screen.places.setSelection(rt3)
        settle()
        activity.layOut()
        settle()
        assertEquals(TodayFilter.Place.Rt("003"), screen.filter.place)
        assertEquals((1..MONTH).filter { rt(it) == "003" }.map(::id), activity.shownIds())

        screen.choose(TodayFilter.Place.Dusun("Kenanga"), null)
        assertEquals((1..MONTH).filter { it % dusuns.size == 1 }.map(::id), activity.shownIds())

        // A visit started on M-007 is a draft: the status filter finds it, and it combines with the search.
        dispatch(FieldEvent.OpenAssignment(id(7)))
        dispatch(FieldEvent.Choose("visit_outcome", "1"))
        dispatch(FieldEvent.CloseVisit)
        activity.layOut()
        assertEquals(3, screen.statuses.adapter.count)
        screen.choose(null, ItemStatus.DRAFT)
        assertEquals(listOf(id(7)), activity.shownIds())
        activity.search("budi")
        assertEquals(emptyList<String>(), activity.shownIds())
        screen.choose(null, ItemStatus.NOT_STARTED)
        assertEquals((1..MONTH).filter { it % names.size == 1 && it != 7 }.map(::id), activity.shownIds())
    }

    @Test
    fun a_month_scrolls_on_a_screenful_of_rows_and_a_tap_redraws_them_in_place() {
        val activity = month()
        val screen = activity.todayScreen
        val list = screen.list
        val adapter = screen.adapter
        assertEquals(MONTH, activity.shownIds().size)
        val rows = list.rowViews()
        assertTrue(
            "rows on screen: ${rows.size} (list ${list.width}×${list.height} at ${list.top}, ${list.childCount} children, " +
                "header ${list.getChildAt(0)?.height})",
            rows.isNotEmpty(),
        )
        assertTrue("a screenful of row views for $MONTH assignments: ${adapter.rowsMade}", adapter.rowsMade < 30)

        // Scrolling to the end of the month makes no more than a few rows: the ones that left are reused.
        val made = adapter.rowsMade
        list.setSelection(list.count - 1)
        activity.layOut()
        assertSame(adapter.shownRows.last(), list.rowViews().last().row)
        assertTrue("rows made while scrolling: ${adapter.rowsMade - made}", adapter.rowsMade - made <= 3)
        list.setSelection(50)
        activity.layOut()
        val scrolledTo = list.firstVisiblePosition
        val scrolledRows = list.rowViews()
        val madeBefore = adapter.rowsMade

        // A tap that redraws the screen (sync now): the same list, adapter and row views, rebound in place.
        activity.findButton(words(activity).getString(id.tepat.field.R.string.sync_now)).performClick()
        settle()
        activity.layOut()
        assertSame(list, activity.todayScreen.list)
        assertSame(adapter, list.adapter.let { (it as android.widget.HeaderViewListAdapter).wrappedAdapter })
        assertEquals(scrolledRows, list.rowViews())
        assertEquals(madeBefore, adapter.rowsMade)

        // Tapping a row opens its visit; back on the list, it is the same list where it was.
        val tapped = scrolledRows.first { it.row is TodayRow.Assignment }
        val tappedItem = (tapped.row as TodayRow.Assignment).item
        tapped.performClick()
        settle()
        assertEquals(tappedItem.label, (app.session.views.value?.screen as? Screen.Visit)?.v1?.title)
        assertEquals(View.GONE, screen.visibility)
        dispatch(FieldEvent.CloseVisit)
        activity.layOut()
        assertEquals(View.VISIBLE, screen.visibility)
        assertSame(screen, activity.todayScreen)
        assertSame(list, screen.list)
        // Within a row: outside touch mode (as Robolectric runs) the list keeps the row above a selection in view.
        assertTrue(
            "the scroll position survived the visit: at ${list.firstVisiblePosition}, was at $scrolledTo",
            kotlin.math.abs(list.firstVisiblePosition - scrolledTo) <= 1,
        )
        assertEquals(madeBefore, adapter.rowsMade)
    }

    private fun android.widget.ListView.rowViews(): List<RowView> =
        (0 until childCount).mapNotNull { getChildAt(it) as? RowView }

    private fun MainActivity.texts(): List<String> =
        window.decorView.allOf<android.widget.TextView>().filter { it.isShown }.map { it.text.toString() }

    private fun MainActivity.findButton(label: String): android.widget.Button =
        window.decorView.allOf<android.widget.Button>().first { it.text == label && it.isShown }
}
