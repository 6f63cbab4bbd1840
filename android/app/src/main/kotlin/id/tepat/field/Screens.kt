package id.tepat.field

import android.widget.HorizontalScrollView
import android.widget.LinearLayout
import id.tepat.core.ffi.FieldEvent
import id.tepat.core.ffi.FinaliseView
import id.tepat.core.ffi.FindingItem
import id.tepat.core.ffi.Notice
import id.tepat.core.ffi.NoticeLevel
import id.tepat.core.ffi.PrefillMark
import id.tepat.core.ffi.SyncView
import id.tepat.core.ffi.VisitView

/** The sync line on top of every screen: what waits, when it last worked, what went wrong; sync by hand. */
fun Ui.syncBar(sync: SyncView, user: String?): LinearLayout {
    val bar = column(8)
    bar.setBackgroundColor(color(R.color.current))
    user?.let { bar.add(small(it)) }
    val line = row()
    val status = column()
    val said = if (sync.syncing) string(R.string.syncing) else sync.summary
    status.add(text(said, R.dimen.small))
    // Photos still on the phone ("3 foto, 820 KB belum terkirim"), also while a sync runs.
    sync.photosText?.takeIf { !said.contains(it) }?.let { status.add(small(it)) }
    sync.lastSuccess?.let { status.add(small(string(R.string.last_sync, it))) }
    sync.lastError?.let { status.add(small(string(R.string.sync_problem, it), R.color.warning)) }
    line.addWeighted(status)
    line.addView(action(string(R.string.sync_now), FieldEvent.SyncNow, enabled = sync.canSync))
    bar.add(line)
    return bar
}

fun Ui.notice(notice: Notice): LinearLayout {
    val colour = when (notice.level) {
        NoticeLevel.ERROR -> R.color.error
        NoticeLevel.WARNING -> R.color.warning
        NoticeLevel.SUCCESS -> R.color.success
        NoticeLevel.INFO -> R.color.muted
    }
    val line = row()
    line.setBackgroundColor(color(R.color.banner))
    line.addWeighted(text(notice.text, colorId = colour).apply { setPadding(dp(12), dp(8), dp(8), dp(8)) })
    line.addView(action(string(R.string.dismiss), FieldEvent.DismissNotice))
    return line
}

/**
 * Before enrolment: the code from the admin. The card is kept across redraws (the code being typed survives a
 * sync or a network change); [enrol] gets the code typed.
 */
fun Ui.enrolmentItem(enrol: (String) -> Unit): KeyedColumn.Item = KeyedColumn.Item(
    "enrol",
    make = {
        val card = column(8)
        card.setBackgroundColor(color(R.color.banner))
        card.add(text(string(R.string.enrol_title), bold = true))
        val code = AnswerBox(context).apply {
            tag = "enrol-code"
            hint = string(R.string.enrol_hint)
            inputType = android.text.InputType.TYPE_CLASS_TEXT or android.text.InputType.TYPE_TEXT_FLAG_CAP_CHARACTERS
        }
        card.add(code, button(string(R.string.enrol)) { enrol(code.text.toString()) })
        card
    },
    update = {},
)

/**
 * A visit's page: its header, the section tabs, the visible fields of this page (each kept by its path across
 * redraws), and the way on.
 */
fun Ui.visit(visit: VisitView): List<KeyedColumn.Item> =
    listOf(rebuilt("head") { visitHead(visit, it) }) + visit.fields.map(::fieldItem) +
        rebuilt("foot") { visitFoot(visit, it) }

private fun Ui.visitHead(visit: VisitView, into: LinearLayout) {
    into.add(title(visit.title))
    into.add(small(visit.formTitle + " · " + string(R.string.revision, visit.revision.toInt(), visit.stateText)))
    visit.banner?.let { into.add(banner(it)) }
    visit.supervisorComment?.let { into.add(banner(string(R.string.supervisor_comment, it))) }
    visit.waitingFor?.let { into.add(banner(it, R.color.current)) }
    if (visit.errors > 0u || visit.warnings > 0u) {
        val colour = if (visit.errors > 0u) R.color.error else R.color.warning
        into.add(small(string(R.string.findings_count, visit.errors.toInt(), visit.warnings.toInt()), colour))
    }
    val tabs = row()
    for (tab in visit.sections) {
        val marks = (if (tab.errors > 0u) " !" else "") + (if (tab.warnings > 0u) " ?" else "")
        tabs.addView(action(tab.title + marks, FieldEvent.GoToSection(tab.index)).apply {
            if (tab.current) setBackgroundColor(color(R.color.current))
        })
    }
    into.add(HorizontalScrollView(context).apply { addView(tabs) })
    into.add(title(visit.sectionTitle))
    visit.member?.let { member ->
        into.add(action(string(R.string.back_to_roster), FieldEvent.CloseMember))
        into.add(text(member.title, bold = true))
    }
}

private fun Ui.visitFoot(visit: VisitView, into: LinearLayout) {
    val nav = row()
    val back = if (visit.member != null) FieldEvent.CloseMember else FieldEvent.PreviousSection
    nav.addWeighted(
        action(string(R.string.previous), back, enabled = visit.canPrevious),
        action(string(R.string.next), FieldEvent.NextSection, enabled = visit.canNext),
    )
    into.add(nav)
    // The page's registered answers, checked and still right, are confirmed in one tap.
    if (!visit.readOnly && visit.fields.any { it.prefill == PrefillMark.PREFILLED }) {
        into.add(action(string(R.string.confirm_page), FieldEvent.ConfirmPage).apply { tag = "confirm-page" })
    }
    if (!visit.readOnly) into.add(action(string(R.string.review), FieldEvent.ReviewFinalise))
    if (visit.canEditAgain) into.add(action(string(R.string.edit_again), FieldEvent.EditAgain))
    into.add(action(string(R.string.back_to_list), FieldEvent.CloseVisit))
}

/**
 * What still blocks finishing: errors to fix (with a way there), warnings to explain with a note. Each finding is
 * kept by its path across redraws, so a note being typed survives them.
 */
fun Ui.finalise(screen: FinaliseView): List<KeyedColumn.Item> {
    val items = mutableListOf(
        rebuilt("head") { into ->
            into.add(title(string(R.string.finalise_title)), text(screen.title))
            into.add(
                screen.blockedReason?.let { banner(it) }
                    ?: text(string(R.string.nothing_blocks), colorId = R.color.success),
            )
            if (screen.errors.isNotEmpty()) {
                into.add(text(string(R.string.errors_title), bold = true, colorId = R.color.error))
            }
        },
    )
    // A field may have several findings: the n-th of a path is its own item.
    val seen = mutableMapOf<String, Int>()
    fun key(kind: String, path: String): String {
        val n = seen.merge("$kind:$path", 1, Int::plus)
        return "$kind:$path#$n"
    }
    for (error in screen.errors) items += rebuilt(key("error", error.path)) { it.add(finding(error), divider()) }
    if (screen.warnings.isNotEmpty()) {
        items += rebuilt("warnings") { it.add(text(string(R.string.warnings_title), bold = true, colorId = R.color.warning)) }
    }
    for (warning in screen.warnings) items += warningItem(key("warning", warning.path), warning)
    items += rebuilt("foot") { into ->
        into.add(action(string(R.string.finalise), FieldEvent.Finalise, enabled = screen.canFinalise))
        into.add(action(string(R.string.back_to_visit), FieldEvent.PreviousSection))
    }
    return items
}

private fun Ui.finding(item: FindingItem): LinearLayout {
    val box = column(4)
    box.add(text(item.field, bold = true), text(item.text, R.dimen.small))
    box.add(action(string(R.string.go_there), FieldEvent.GoToSection(item.section)))
    return box
}

/** A warning with its note box: the texts are redrawn, the note box is kept (what is typed in it stays). */
private fun Ui.warningItem(key: String, item: FindingItem): KeyedColumn.Item {
    fun fill(view: LinearLayout) {
        val about = view.getChildAt(0) as LinearLayout
        about.removeAllViews()
        about.add(text(item.field, bold = true), text(item.text, R.dimen.small))
        val note = view.getChildAt(1) as AnswerBox
        note.onCommit = { typed -> send(FieldEvent.SetNote(item.path, typed)) }
        note.show(item.note.orEmpty())
    }
    return KeyedColumn.Item(
        key,
        make = {
            val box = column(4)
            box.add(column())
            val note = AnswerBox(context).apply {
                tag = "note:" + item.path
                hint = string(R.string.note_hint)
            }
            box.add(note)
            box.add(button(string(R.string.save_note)) { note.commit() })
            box.add(action(string(R.string.go_there), FieldEvent.GoToSection(item.section)), divider())
            fill(box)
            box
        },
        update = { fill(it as LinearLayout) },
    )
}

/** Before enrolment: training mode (no server), or why the configured server address is refused. */
fun Ui.setupBanner(serverProblem: String?, server: Boolean, into: LinearLayout) {
    when {
        serverProblem != null -> into.add(banner(serverProblem, R.color.banner).apply { setTextColor(color(R.color.error)) })
        !server -> into.add(banner(string(R.string.training_mode)))
    }
}
