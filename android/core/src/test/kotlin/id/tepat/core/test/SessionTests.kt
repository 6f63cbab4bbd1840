package id.tepat.core.test

import id.tepat.core.FieldSession
import id.tepat.core.ffi.AnswerView
import id.tepat.core.ffi.FieldConfig
import id.tepat.core.ffi.FieldEvent
import id.tepat.core.ffi.FieldException
import id.tepat.core.ffi.ItemStatus
import id.tepat.core.ffi.Lang
import id.tepat.core.ffi.Level
import id.tepat.core.ffi.LocationOutput
import id.tepat.core.ffi.Role
import id.tepat.core.ffi.Screen
import java.io.File
import java.security.MessageDigest
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlin.test.fail

private fun sha256(file: File): String =
    MessageDigest.getInstance("SHA-256").digest(file.readBytes()).joinToString("") { "%02x".format(it) }

fun sessionTests(runner: Runner) = with(runner) {
    test("a whole visit through FieldSession, from the list to the outbox, survives reopening") {
        val phone = Phone().enrolled()
        val list = phone.view.today()
        assertEquals(2, list.items.size)
        assertEquals(12u, list.counts.target)
        assertEquals("0 dari 12 kunjungan selesai hari ini", list.progressText)
        assertEquals("Rina · Pendamping PKH", phone.view.user)

        var view = phone.send(FieldEvent.OpenAssignment("A-1"))
        assertEquals("Siti · RT 003", view.visit().title)
        view = phone.choose("visit_outcome", "1")
        assertEquals(AnswerView.Choice("1"), view.field("visit_outcome").answer)

        // Identity: a prefilled answer, a number, a finding as soon as it is typed, nonsense refused, a cascade.
        view = phone.goTo("Identitas")
        assertEquals(AnswerView.Text("Siti"), view.field("head_name").answer)
        view = phone.answer("floor_area", "-4")
        assertEquals("floor_positive", view.field("floor_area").findings.single().rule)
        assertEquals(Level.ERROR, view.field("floor_area").findings.single().level)
        view = phone.answer("floor_area", "36.5")
        assertTrue(view.field("floor_area").findings.isEmpty())
        assertEquals(AnswerView.Number(36.5), view.field("floor_area").answer)
        view = phone.answer("kk_members", "banyak")
        assertNotNull(view.field("kk_members").inputError)
        val open = view.field("region").region.first { it.selected == null && it.choices.isNotEmpty() }
        val district = open.choices.first().code
        view = phone.send(FieldEvent.ChooseRegion("region", district))
        val village = view.field("region").region.last().choices.first().code
        assertTrue(village.startsWith(district), "$village lies in $district")
        view = phone.send(FieldEvent.ChooseRegion("region", village))
        assertEquals(AnswerView.Region(village), view.field("region").answer)

        // GPS: the core asks, the phone answers later.
        phone.goTo("Rumah")
        view = phone.send(FieldEvent.CaptureLocation("gps"))
        assertNotNull(view.visit().waitingFor)
        val (path, answer) = phone.location.next()
        assertEquals("gps", path)
        answer(LocationOutput.Fix(-3.8, 102.26, 7.0))
        view = phone.view
        assertEquals(AnswerView.Location(-3.8, 102.26, 7.0), view.field("gps").answer)
        assertNull(view.visit().waitingFor)

        // Choices filtered live by another answer (choice_filter).
        view = phone.choose("lighting", "4")
        assertEquals(listOf("bike"), view.field("assets").choices.map { it.code })
        view = phone.choose("lighting", "1")
        assertEquals(listOf("tv", "fridge", "bike"), view.field("assets").choices.map { it.code })
        view = phone.choose("assets", "tv")
        view = phone.choose("assets", "bike")
        assertEquals(AnswerView.Choices(listOf("tv", "bike")), view.field("assets").answer)

        phone.completeFoundVisit()
        view = phone.goTo("Rumah")
        val photo = view.field("photo_front").answer as? AnswerView.Photo ?: fail("no photo")
        assertEquals(sha256(phone.camera.taken.single()), photo.sha256, "the core hashed the file")

        view = phone.send(FieldEvent.Finalise)
        assertEquals(1u, view.today().counts.doneToday)
        assertEquals("1 dari 12 kunjungan selesai hari ini", view.today().progressText)
        assertEquals(1u, view.sync.outbox)
        assertTrue(phone.recorder.errors.isEmpty(), "${phone.recorder.errors}")
        phone.close()

        Phone(phone.dir).use { again ->
            val item = again.view.today().items.first { it.assignmentId == "A-1" }
            assertEquals(ItemStatus.IN_OUTBOX, item.status)
            assertEquals(1u, again.view.sync.outbox)
        }
    }

    test("finalising is blocked while an error remains, and a warning needs a note") {
        Phone().enrolled().use { phone ->
            phone.completeFoundVisit()
            phone.send(FieldEvent.OpenMember("members", 0u))
            phone.choose("members[0].relationship", "3")
            phone.send(FieldEvent.CloseMember)
            var view = phone.send(FieldEvent.Finalise)
            var screen = view.finalise()
            assertFalse(screen.canFinalise)
            assertNotNull(screen.blockedReason)
            assertTrue(screen.errors.any { it.path == "members" }, "${screen.errors}")
            assertEquals(0u, view.sync.outbox)

            // Jump back to the section of the error, fix it; the size warning needs a note.
            phone.send(FieldEvent.GoToSection(screen.errors.first { it.path == "members" }.section))
            phone.send(FieldEvent.OpenMember("members", 0u))
            phone.choose("members[0].relationship", "1")
            phone.send(FieldEvent.CloseMember)
            phone.goTo("Identitas")
            phone.answer("kk_members", "2")
            view = phone.send(FieldEvent.Finalise)
            screen = view.finalise()
            assertTrue(screen.errors.isEmpty(), "${screen.errors}")
            assertEquals("members", screen.warnings.single().path)
            assertFalse(screen.canFinalise)
            view = phone.send(FieldEvent.SetNote("members", "Anak kedua merantau"))
            assertEquals("Anak kedua merantau", view.finalise().warnings.single().note)
            view = phone.send(FieldEvent.Finalise)
            assertEquals(1u, view.sync.outbox)
        }
    }

    test("the real DTSEN form: a family not found is finalised and comes back as a revisit") {
        Phone(forms = realForms).use { phone ->
            phone.send(FieldEvent.UseIdentity(
                id.tepat.core.ffi.Identity("D-2", "U-2", "Siti", Role.ENUMERATOR, listOf("17.71")),
            ))
            val assignment = """[{"assignment_id": "GC-1", "form_id": "dtsen_groundcheck", "form_version": 1,
                "region_code": "17.71.01.1001", "label": "Keluarga Ahmad"}]"""
            phone.send(FieldEvent.ImportAssignments(assignment))
            phone.send(FieldEvent.OpenAssignment("GC-1"))
            var view = phone.choose("visit_outcome", "0")
            assertFalse(view.visit().sections.any { it.title.startsWith("Anggota") }, "no roster for a family not found")
            view = phone.send(FieldEvent.NextSection)
            phone.answer("outcome_reason", "Rumah kosong, tetangga tidak kenal")
            phone.answer("informant", "Ketua RT 03")
            view = phone.view
            val revisit = view.field("revisit_planned").choices.first().code
            phone.choose("revisit_planned", revisit)
            // Every outcome leaves evidence: a GPS fix with how it was taken, and a photo of the place.
            phone.send(FieldEvent.CaptureLocation("gps"))
            val (path, answer) = phone.location.next()
            assertEquals("gps", path)
            answer(LocationOutput.Fix(-3.8, 102.26, 7.0))
            phone.choose("gps_method", "1")
            phone.send(FieldEvent.TakePhoto("photo_front"))
            phone.camera.settle()
            view = phone.send(FieldEvent.Finalise)
            val item = view.today().items.single()
            assertEquals(ItemStatus.REVISIT, item.status, item.statusText)
            assertEquals(1u, view.today().counts.revisits)
        }
    }

    test("an assessor starts a PPKS case without an assignment, and it is listed as a case") {
        Phone(forms = realForms).use { phone ->
            phone.send(FieldEvent.UseIdentity(
                id.tepat.core.ffi.Identity("D-3", "U-3", "Andi", Role.ASSESSOR, listOf("17.71")),
            ))
            val forms = phone.view.today().caseForms
            assertTrue(forms.any { it.formId == "ppks_asesmen" }, "$forms")
            var view = phone.send(FieldEvent.StartNewCase("ppks_asesmen"))
            assertEquals("Kasus baru", view.visit().title)
            phone.choose("consent", "1")
            view = phone.goTo("Kasus")
            val source = view.field("case_source").choices.first().code
            view = phone.choose("case_source", source)
            assertEquals(AnswerView.Choice(source), view.field("case_source").answer)
            view = phone.send(FieldEvent.CloseVisit)
            assertEquals(1, view.today().cases.size)
            assertEquals(ItemStatus.DRAFT, view.today().cases.single().status)
        }
    }

    test("the assessor's list names the client, shows no visit target, and a case starts in the assessor's area") {
        Phone(forms = realForms).use { phone ->
            phone.send(FieldEvent.UseIdentity(
                id.tepat.core.ffi.Identity("D-3", "U-3", "Andi", Role.ASSESSOR, listOf("17.71")),
            ))
            var list = phone.view.today()
            assertNull(list.counts.target, "a TKSK has no daily target")
            assertEquals("0 kunjungan selesai hari ini", list.progressText)
            assertFalse(list.progressText.contains("dari 12"), list.progressText)
            var view = phone.send(FieldEvent.StartNewCase("ppks_asesmen"))
            view = phone.goTo("Identitas klien")
            // The region choice starts at Kota Bengkulu's districts, not at 38 provinces.
            val levels = view.field("region").region
            assertEquals(listOf("Bengkulu", "Kota Bengkulu"), levels.mapNotNull { it.selected?.label })
            val open = levels.first { it.selected == null }
            assertTrue(open.choices.all { it.code.startsWith("17.71.") }, "${open.choices}")
            assertEquals(AnswerView.Text("17.71"), view.field("work_area").answer)
            view = phone.answer("full_name", "Siti Aminah")
            view = phone.send(FieldEvent.CloseVisit)
            list = view.today()
            assertEquals("Siti Aminah", list.cases.single().title)
            assertFalse(list.cases.single().canFollowUp, "a draft is continued, not followed up")
        }
    }

    test("actions sent from several threads at once are all kept, in the order each thread sent them") {
        Phone().enrolled().use { phone ->
            phone.send(FieldEvent.OpenAssignment("A-1"))
            phone.choose("visit_outcome", "1")
            val paths = listOf("head_name", "kk_members", "floor_area")
            val threads = paths.map { path ->
                Thread {
                    for (n in 1..25) {
                        phone.session.send(FieldEvent.Answer(path, if (path == "head_name") "Nama $n" else "$n"))
                    }
                }.apply { start() }
            }
            threads.forEach { it.join() }
            val view = phone.goTo("Identitas")
            assertEquals(AnswerView.Text("Nama 25"), view.field("head_name").answer)
            assertEquals(AnswerView.Number(25.0), view.field("kk_members").answer)
            assertEquals(AnswerView.Number(25.0), view.field("floor_area").answer)
            assertTrue(phone.recorder.errors.isEmpty(), "${phone.recorder.errors}")
        }
    }

    test("English on request, Bahasa Indonesia by default") {
        Phone().enrolled().use { phone ->
            assertEquals(Lang.ID, phone.view.lang)
            val view = phone.send(FieldEvent.SetLanguage(Lang.EN))
            assertEquals("0 of 12 visits done today", view.today().progressText)
        }
    }

    test("bad input is a typed error: thrown to a waiting caller, reported to listeners otherwise") {
        Phone().enrolled().use { phone ->
            val error = assertFailsWith<FieldException.BadInput> {
                phone.send(FieldEvent.ImportAssignments("bukan json"))
            }
            assertTrue(error.detail.startsWith("assignments"), error.detail)
            phone.session.send(FieldEvent.ImportAssignments("[1, 2]"))
            phone.session.awaitIdle()
            assertTrue(phone.recorder.errors.single() is FieldException.BadInput)
            assertEquals(2, phone.view.today().items.size, "nothing imported")
            assertFailsWith<FieldException.UnknownRequest> {
                phone.session.call { it.resolveLocation(77u, LocationOutput.Unavailable("late")) }
            }
        }
    }

    test("a database that cannot be opened is reported to the app") {
        val dir = tempDir()
        val recorder = Recorder()
        val config = FieldConfig(File(dir, "no/such/dir/phone.db").absolutePath, listOf(testForm), false, null, null)
        FieldSession(config, testKeys(dir), id.tepat.core.Unavailable, id.tepat.core.Unavailable).use { session ->
            session.addListener(recorder)
            assertFailsWith<IllegalStateException> { session.awaitIdle() }
            assertTrue(recorder.errors.single() is FieldException.Open, "${recorder.errors}")
            assertNull(session.views.value)
            // A background job still hears back, so it can finish.
            val done = java.util.concurrent.LinkedBlockingQueue<Any>()
            session.syncInBackground { done.put(it ?: "no core") }
            assertEquals("no core", done.poll(30, java.util.concurrent.TimeUnit.SECONDS))
            session.close()
            session.syncInBackground { done.put(it ?: "closed") }
            assertEquals("closed", done.poll(30, java.util.concurrent.TimeUnit.SECONDS))
        }
    }

    test("an Error on the worker (not an Exception) reaches the listeners and the session keeps working") {
        Phone().enrolled().use { phone ->
            // A listener that fails with an Error once, as a missing class or running out of memory would.
            val failing = object : FieldSession.Listener {
                var armed = true

                override fun onView(view: id.tepat.core.ffi.ViewModel) {
                    if (armed) {
                        armed = false
                        throw NoClassDefFoundError("simulated: a class the library needs is missing")
                    }
                }
            }
            phone.session.addListener(failing)
            phone.session.awaitIdle()
            assertTrue(phone.recorder.errors.any { it is NoClassDefFoundError }, "${phone.recorder.errors}")
            // The worker survived: later calls run and answer.
            assertEquals(2, phone.send(FieldEvent.ShowToday).today().items.size)
        }
    }

    test("a background sync job hears back even when the worker fails with an Error") {
        Phone().enrolled().use { phone ->
            phone.session.addListener(object : FieldSession.Listener {
                override fun onView(view: id.tepat.core.ffi.ViewModel) = throw OutOfMemoryError("simulated")
            })
            val done = java.util.concurrent.LinkedBlockingQueue<Any>()
            phone.session.syncInBackground { done.put(it ?: "no view") }
            assertNotNull(done.poll(30, java.util.concurrent.TimeUnit.SECONDS), "the job was never told it is done")
        }
    }

    test("no location service: the visit says why and keeps going") {
        val dir = tempDir()
        val config = FieldConfig(File(dir, "phone.db").absolutePath, listOf(testForm), false, null, null)
        FieldSession(config, testKeys(dir), id.tepat.core.Unavailable, id.tepat.core.Unavailable).use { session ->
            session.sendAndWait(FieldEvent.ImportAssignments(ASSIGNMENTS))
            session.sendAndWait(FieldEvent.OpenAssignment("A-1"))
            session.sendAndWait(FieldEvent.Choose("visit_outcome", "1"))
            session.sendAndWait(FieldEvent.GoToSection(2u))
            session.send(FieldEvent.CaptureLocation("gps"))
            session.awaitIdle()
            val view = session.views.value ?: fail("no view")
            assertEquals(AnswerView.Empty, view.field("gps").answer)
            assertNull(view.visit().waitingFor)
            assertTrue(view.notice?.text.orEmpty().contains("no location service"), "${view.notice}")
        }
    }

    test("a sync without a server fails in words and keeps the visit in the outbox") {
        Phone().enrolled().use { phone ->
            phone.completeFoundVisit()
            phone.send(FieldEvent.Finalise)
            val done = java.util.concurrent.LinkedBlockingQueue<Any>()
            phone.session.syncInBackground { view -> done.put(view ?: "none") }
            val view = done.poll(30, java.util.concurrent.TimeUnit.SECONDS) as? id.tepat.core.ffi.ViewModel
                ?: fail("the sync did not finish")
            assertFalse(view.sync.syncing)
            assertEquals(1u, view.sync.outbox)
            assertNotNull(view.sync.lastError)
            phone.session.awaitIdle()
            assertEquals(view.sync, phone.recorder.views.last().sync, "listeners saw the view after the sync")
            assertTrue(phone.recorder.views.any { it.sync.syncing }, "and the view while it ran")
        }
    }

    test("coming online with visits waiting starts a sync") {
        Phone().enrolled().use { phone ->
            phone.completeFoundVisit()
            phone.send(FieldEvent.Finalise)
            assertNull(phone.view.sync.lastError)
            val online = phone.network.listener ?: fail("the session did not start the monitor")
            online(true)
            phone.session.awaitIdle()
            assertNotNull(phone.view.sync.lastError, "a sync ran (and failed: no server)")
            assertTrue(phone.view.screen is Screen.Today)
        }
    }

    test("with photos set, a photo is prepared into the photo folder, named by its hash, smaller than the camera's") {
        val photos = File(tempDir(), "photos-ready")
        Phone(photoDir = photos).enrolled().use { phone ->
            phone.completeFoundVisit()
            val view = phone.goTo("Rumah")
            val photo = view.field("photo_front").answer as? AnswerView.Photo ?: fail("no photo")
            val camera = phone.camera.taken.single()
            val prepared = File(photo.file)
            assertEquals(File(photos, "${photo.sha256}.jpg"), prepared, "prepared into the photo folder by its hash")
            assertEquals(sha256(prepared), photo.sha256)
            val cameraBytes = cameraJpeg(1200, 900, 1).size
            assertTrue(prepared.length() < cameraBytes, "${prepared.length()} < camera's $cameraBytes bytes")
            assertFalse(camera.exists(), "the camera's file (full size, with its metadata) is removed once prepared")

            // Text first: photos queue once the server has the visit (here there is none), so nothing waits yet.
            val sent = phone.send(FieldEvent.Finalise)
            assertEquals(1u, sent.sync.outbox)
            assertEquals(0u, sent.sync.photosWaiting)
            assertNull(sent.sync.photosText)
        }
    }
}
