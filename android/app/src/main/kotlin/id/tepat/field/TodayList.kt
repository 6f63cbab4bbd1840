package id.tepat.field

import android.content.Context
import android.text.Editable
import android.text.InputType
import android.text.TextWatcher
import android.view.View
import android.view.ViewGroup
import android.view.inputmethod.EditorInfo
import android.widget.AdapterView
import android.widget.ArrayAdapter
import android.widget.BaseAdapter
import android.widget.Button
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.ListView
import android.widget.ProgressBar
import android.widget.Spinner
import android.widget.TextView
import id.tepat.core.ffi.CaseView
import id.tepat.core.ffi.FieldEvent
import id.tepat.core.ffi.FormChoiceView
import id.tepat.core.ffi.ItemStatus
import id.tepat.core.ffi.TodayItemView
import id.tepat.core.ffi.TodayView
import java.util.Locale

/**
 * What today's list shows: the assignments whose name, NIK, address, RT/RW, dusun or village contain every word
 * of [query], in [place] (an RT or a dusun), with [status]. The person's own narrowing, kept on the glass (not in
 * the core): it survives every redraw of the list.
 */
data class TodayFilter(val query: String = "", val place: Place? = null, val status: ItemStatus? = null) {
    sealed class Place {
        data class Rt(val rt: String) : Place()

        data class Dusun(val dusun: String) : Place()
    }

    private val words: List<String> = query.lowercase(Locale.ROOT).split(Regex("\\s+")).filter { it.isNotEmpty() }

    fun matches(item: TodayItemView): Boolean {
        if (status != null && item.status != status) return false
        when (place) {
            is Place.Rt -> if (item.rt?.let { sameRt(it) } != sameRt(place.rt)) return false
            is Place.Dusun -> if (!item.dusun.equals(place.dusun, ignoreCase = true)) return false
            null -> {}
        }
        if (words.isEmpty()) return true
        val text = listOfNotNull(
            item.label, item.nik, item.address, item.region, item.dusun,
            item.rt?.let { "rt $it ${sameRt(it)}" }, item.rw?.let { "rw $it ${sameRt(it)}" },
        ).joinToString(" ").lowercase(Locale.ROOT)
        return words.all { text.contains(it) }
    }

    /** New cases have no place: a chosen RT or dusun hides them. */
    fun matches(case: CaseView): Boolean {
        if (place != null) return false
        if (status != null && case.status != status) return false
        val text = "${case.title} ${case.formTitle}".lowercase(Locale.ROOT)
        return words.all { text.contains(it) }
    }

    companion object {
        /** `003`, `03` and `3` are one RT. */
        fun sameRt(rt: String): String = rt.trim().trimStart('0').ifEmpty { "0" }
    }
}

/** One row of the list. */
sealed class TodayRow {
    data class Assignment(val item: TodayItemView) : TodayRow()

    data class CasesTitle(val title: String) : TodayRow()

    data class Case(val case: CaseView) : TodayRow()

    data class CaseForm(val form: FormChoiceView) : TodayRow()
}

/**
 * The list's rows on a recycling [ListView]: only the rows on screen exist as views, and a new view model (a tap,
 * a sync, a GPS fix) rebinds them in place instead of building a screen of cards again. A month's assignments
 * (hundreds) cost a screenful of views.
 */
class TodayAdapter : BaseAdapter() {
    private var ui: Ui? = null
    private var rows: List<TodayRow> = emptyList()

    /** Row views made so far (not rebound ones): a redraw that rebuilt the rows would raise it. */
    var rowsMade = 0
        private set

    val shownRows: List<TodayRow> get() = rows

    fun show(ui: Ui, rows: List<TodayRow>) {
        this.ui = ui
        this.rows = rows
        notifyDataSetChanged()
    }

    override fun getCount(): Int = rows.size

    override fun getItem(position: Int): TodayRow = rows[position]

    override fun getItemId(position: Int): Long = when (val row = rows[position]) {
        is TodayRow.Assignment -> row.item.assignmentId.hashCode().toLong()
        is TodayRow.Case -> row.case.visitId.hashCode().toLong()
        is TodayRow.CaseForm -> "${row.form.formId}@${row.form.version}".hashCode().toLong()
        is TodayRow.CasesTitle -> -1L
    }

    override fun hasStableIds(): Boolean = true

    override fun getViewTypeCount(): Int = 4

    override fun getItemViewType(position: Int): Int = when (rows[position]) {
        is TodayRow.Assignment -> 0
        is TodayRow.CasesTitle -> 1
        is TodayRow.Case -> 2
        is TodayRow.CaseForm -> 3
    }

    // Titles are not rows to act on; rows are tapped through their own click listeners.
    override fun areAllItemsEnabled(): Boolean = false

    override fun isEnabled(position: Int): Boolean = rows[position] !is TodayRow.CasesTitle

    override fun getView(position: Int, convertView: View?, parent: ViewGroup): View {
        val ui = ui ?: throw IllegalStateException("rows asked for before the list was shown")
        val row = rows[position]
        val view = convertView as? RowView ?: RowView(ui.context).also { rowsMade++ }
        view.bind(ui, row)
        return view
    }
}

/** A row's view: made once, rebound to whichever row scrolls into it. */
class RowView(context: Context) : LinearLayout(context) {
    private val title = TextView(context)
    private val place = TextView(context)
    private val status = TextView(context)
    private val comment = TextView(context)
    private val withdrawn = TextView(context)
    private val action = Button(context).apply { setAllCaps(false) }

    /** The row it shows now (tests). */
    var row: TodayRow? = null
        private set

    init {
        orientation = VERTICAL
        add(title, place, status, comment, withdrawn, action)
    }

    fun bind(ui: Ui, row: TodayRow) {
        this.row = row
        ui.bindWith(row)
    }

    private fun Ui.bindWith(row: TodayRow) {
        val pad = dp(8)
        setPadding(dp(16), pad, dp(16), pad)
        style(title, R.dimen.body, bold = true)
        style(place, R.dimen.small, colorId = R.color.muted)
        style(status, R.dimen.small)
        style(withdrawn, R.dimen.small, colorId = R.color.warning)
        comment.setBackgroundColor(color(R.color.banner))
        comment.setPadding(dp(12), dp(8), dp(12), dp(8))
        setOnClickListener(null)
        isClickable = false
        when (row) {
            is TodayRow.Assignment -> {
                val item = row.item
                show(title, item.label)
                show(place, placeLine(item))
                show(status, item.statusText)
                status.setTextColor(color(statusColour(item.status)))
                show(comment, item.supervisorComment?.let { string(R.string.supervisor_comment, it) })
                show(withdrawn, item.withdrawnText)
                val open = FieldEvent.OpenAssignment(item.assignmentId)
                show(action, item.actionText)
                action.setOnClickListener { send(open) }
                setOnClickListener { send(open) }
            }
            is TodayRow.CasesTitle -> {
                show(title, row.title)
                listOf(place, status, comment, withdrawn, action).forEach { it.visibility = GONE }
            }
            is TodayRow.Case -> {
                val case = row.case
                show(title, case.title)
                show(place, "${case.date} · ${case.formTitle}")
                show(status, case.statusText)
                status.setTextColor(color(statusColour(case.status)))
                show(comment, case.supervisorComment?.let { string(R.string.supervisor_comment, it) })
                // A Satgas report says whether its asesmen is needed and started.
                show(withdrawn, case.asesmenText)
                val open = FieldEvent.OpenVisit(case.visitId)
                // A finalised case is followed up (its referrals carried); a finalised report opens the asesmen it
                // asks for, with its data; the row itself still opens it to read.
                show(action, case.actionText)
                action.setOnClickListener {
                    send(
                        when {
                            case.canStartAsesmen -> FieldEvent.StartAsesmenFromReport(case.visitId)
                            case.canFollowUp -> FieldEvent.FollowUpCase(case.visitId)
                            else -> open
                        },
                    )
                }
                setOnClickListener { send(open) }
            }
            is TodayRow.CaseForm -> {
                listOf(title, place, status, comment, withdrawn).forEach { it.visibility = GONE }
                show(action, string(R.string.start_case, row.form.title))
                action.setOnClickListener { send(FieldEvent.StartNewCase(row.form.formId)) }
            }
        }
    }

    private fun Ui.style(view: TextView, size: Int, bold: Boolean = false, colorId: Int? = null) {
        view.setTextSize(android.util.TypedValue.COMPLEX_UNIT_PX, context.resources.getDimension(size))
        view.setTypeface(null, if (bold) android.graphics.Typeface.BOLD else android.graphics.Typeface.NORMAL)
        colorId?.let { view.setTextColor(color(it)) }
    }

    private fun show(view: TextView, text: String?) {
        view.text = text.orEmpty()
        view.visibility = if (text.isNullOrEmpty()) GONE else VISIBLE
    }
}

/** The place line of an assignment: village, dusun, RT/RW, address, NIK (what the person searches by). */
private fun placeLine(item: TodayItemView): String = listOfNotNull(
    item.region,
    item.dusun?.let { "Dusun $it" },
    listOfNotNull(item.rt?.let { "RT $it" }, item.rw?.let { "RW $it" }).joinToString("/").ifEmpty { null },
    item.address,
    item.nik?.let { "NIK $it" },
).joinToString(" · ")

fun statusColour(status: ItemStatus): Int = when (status) {
    ItemStatus.RETURNED, ItemStatus.REFUSED -> R.color.error
    ItemStatus.CORRECTING, ItemStatus.DRAFT, ItemStatus.REVISIT -> R.color.warning
    ItemStatus.ACCEPTED, ItemStatus.APPROVED, ItemStatus.IN_OUTBOX -> R.color.success
    ItemStatus.NOT_STARTED -> R.color.muted
}

/** The app's word for a status (the filter's choices). */
fun statusName(status: ItemStatus): Int = when (status) {
    ItemStatus.NOT_STARTED -> R.string.status_not_started
    ItemStatus.DRAFT -> R.string.status_draft
    ItemStatus.RETURNED -> R.string.status_returned
    ItemStatus.CORRECTING -> R.string.status_correcting
    ItemStatus.IN_OUTBOX -> R.string.status_in_outbox
    ItemStatus.REFUSED -> R.string.status_refused
    ItemStatus.ACCEPTED -> R.string.status_accepted
    ItemStatus.APPROVED -> R.string.status_approved
    ItemStatus.REVISIT -> R.string.status_revisit
}

/**
 * Today's page: the enrolment card and setup banner (before enrolment), the search box and the two filters on
 * top, then one recycling list whose header is the day's summary. Made once per activity and shown again
 * whenever the list is the screen: its list, adapter, rows and scroll position outlive visits and redraws.
 */
class TodayScreen(context: Context) : LinearLayout(context) {
    /** Before enrolment: the code box (kept across redraws) and why there is no server. */
    val fixed = KeyedColumn(context)
    val search = EditText(context).apply {
        tag = "today-search"
        inputType = InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_VARIATION_FILTER
        imeOptions = EditorInfo.IME_ACTION_SEARCH
        isSingleLine = true
    }
    val places = Spinner(context).apply { tag = "today-place" }
    val statuses = Spinner(context).apply { tag = "today-status" }
    val list = ListView(context).apply { tag = "today-list" }
    val adapter = TodayAdapter()
    private val summary = LinearLayout(context).apply { orientation = VERTICAL }

    /** What narrows the list now. */
    var filter = TodayFilter()
        private set

    private var ui: Ui? = null
    private var today: TodayView? = null
    private var placeChoices: List<Pair<String, TodayFilter.Place?>> = emptyList()
    private var statusChoices: List<Pair<String, ItemStatus?>> = emptyList()

    init {
        orientation = VERTICAL
        add(fixed, search)
        val filters = LinearLayout(context).apply { orientation = HORIZONTAL }
        filters.addWeighted(places, statuses)
        add(filters)
        list.addHeaderView(summary, null, false)
        list.adapter = adapter
        addView(list, LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, 0, 1f))
        search.addTextChangedListener(object : TextWatcher {
            override fun beforeTextChanged(s: CharSequence?, start: Int, count: Int, after: Int) {}

            override fun onTextChanged(s: CharSequence?, start: Int, before: Int, count: Int) {}

            override fun afterTextChanged(s: Editable?) = narrow(filter.copy(query = s?.toString().orEmpty()))
        })
        places.onItemSelectedListener = choiceListener { position ->
            narrow(filter.copy(place = placeChoices.getOrNull(position)?.second))
        }
        statuses.onItemSelectedListener = choiceListener { position ->
            narrow(filter.copy(status = statusChoices.getOrNull(position)?.second))
        }
    }

    /** Where the list was scrolled when a visit took the screen: the first row shown and its offset. */
    private var left: Pair<Int, Int>? = null

    /** The list leaves the screen (a visit opens): remember where it was, to come back there. */
    fun leave() {
        if (visibility != VISIBLE) return
        left = list.firstVisiblePosition to (list.getChildAt(0)?.top ?: 0) - list.paddingTop
        visibility = GONE
    }

    /** Shows [view] (the core's list) through the person's filter; [fixedItems] above the search box. */
    fun show(ui: Ui, view: TodayView, fixedItems: List<KeyedColumn.Item>) {
        visibility = VISIBLE
        this.ui = ui
        today = view
        fixed.show(fixedItems)
        search.hint = ui.string(R.string.search_hint)
        val placeOptions = listOf(ui.string(R.string.filter_all_places) to null) +
            view.items.mapNotNull { it.dusun }.distinctBy { it.lowercase(Locale.ROOT) }.sorted()
                .map { ui.string(R.string.filter_dusun, it) to TodayFilter.Place.Dusun(it) } +
            view.items.mapNotNull { it.rt }.distinctBy { TodayFilter.sameRt(it) }
                .sortedBy { TodayFilter.sameRt(it).padStart(4, '0') }
                .map { ui.string(R.string.filter_rt, it) to TodayFilter.Place.Rt(it) }
        val statusOptions = listOf(ui.string(R.string.filter_all_statuses) to null) +
            (view.items.map { it.status } + view.cases.map { it.status }).distinct().sorted()
                .map { ui.string(statusName(it)) to it }
        // A choice that is no longer offered (its last assignment went) is dropped from the filter.
        var narrowed = filter
        if (placeOptions != placeChoices) {
            placeChoices = placeOptions
            narrowed = narrowed.copy(place = narrowed.place?.takeIf { p -> placeOptions.any { it.second == p } })
            places.offer(placeOptions.map { it.first }, placeOptions.indexOfFirst { it.second == narrowed.place })
        }
        if (statusOptions != statusChoices) {
            statusChoices = statusOptions
            narrowed = narrowed.copy(status = narrowed.status?.takeIf { s -> statusOptions.any { it.second == s } })
            statuses.offer(statusOptions.map { it.first }, statusOptions.indexOfFirst { it.second == narrowed.status })
        }
        filter = narrowed
        refresh()
        left?.let { (position, offset) -> list.setSelectionFromTop(position, offset) }
        left = null
    }

    /** Chooses a place and a status as the person would (tests). */
    fun choose(place: TodayFilter.Place?, status: ItemStatus?) {
        places.setSelection(placeChoices.indexOfFirst { it.second == place }.coerceAtLeast(0))
        statuses.setSelection(statusChoices.indexOfFirst { it.second == status }.coerceAtLeast(0))
        narrow(filter.copy(place = place, status = status))
    }

    private fun narrow(wanted: TodayFilter) {
        if (wanted == filter) return
        filter = wanted
        refresh()
        // A new search or filter starts at the top, where the header says how many it shows (a redraw from the
        // core keeps the place instead: `show`). Setting the adapter again is what resets the list: a selection
        // would skip the header (it is not selectable), and the list would otherwise keep a row whose id both
        // lists share (the forms to start a case with) where it was.
        list.adapter = adapter
    }

    private fun refresh() {
        val ui = ui ?: return
        val today = today ?: return
        val items = today.items.filter(filter::matches)
        val cases = today.cases.filter(filter::matches)
        val rows = items.map { TodayRow.Assignment(it) } +
            (if (cases.isNotEmpty() || today.caseForms.isNotEmpty()) listOf(TodayRow.CasesTitle(ui.string(R.string.cases))) else emptyList()) +
            cases.map { TodayRow.Case(it) } + today.caseForms.map { TodayRow.CaseForm(it) }
        summary.removeAllViews()
        ui.todaySummary(today, items.size, summary)
        adapter.show(ui, rows)
    }

    private fun Spinner.offer(labels: List<String>, selected: Int) {
        this.adapter = ArrayAdapter(this.context, android.R.layout.simple_spinner_dropdown_item, labels)
        this.setSelection(selected.coerceAtLeast(0), false)
    }

    private fun choiceListener(chosen: (Int) -> Unit) = object : AdapterView.OnItemSelectedListener {
        override fun onItemSelected(parent: AdapterView<*>?, view: View?, position: Int, id: Long) = chosen(position)

        override fun onNothingSelected(parent: AdapterView<*>?) {}
    }
}

/** The list's header: the day against its target, the counts, and how many assignments the filter shows. */
private fun Ui.todaySummary(today: TodayView, shown: Int, into: LinearLayout) {
    into.setPadding(dp(16), dp(8), dp(16), dp(8))
    into.add(title(string(R.string.today) + " · " + today.date))
    into.add(text(today.progressText, bold = true))
    // Only a role with a daily target (pendamping PKH) gets the bar; a TKSK's asesmen has none.
    today.counts.target?.let { target ->
        into.add(ProgressBar(context, null, android.R.attr.progressBarStyleHorizontal).apply {
            max = target.toInt()
            progress = today.counts.doneToday.toInt()
        })
    }
    val counts = today.counts
    into.add(small(listOf(
        string(R.string.drafts, counts.drafts.toInt()),
        string(R.string.in_outbox, counts.inOutbox.toInt()),
        string(R.string.returned, counts.returned.toInt()),
        string(R.string.revisits, counts.revisits.toInt()),
    ).joinToString(" · ")))
    into.add(divider())
    into.add(text(string(R.string.assignments) + " · " + string(R.string.shown_count, shown, today.items.size), bold = true))
    when {
        today.items.isEmpty() -> into.add(small(string(R.string.no_assignments)))
        shown == 0 -> into.add(small(string(R.string.no_match)))
    }
}
