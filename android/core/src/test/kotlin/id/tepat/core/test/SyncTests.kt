package id.tepat.core.test

import id.tepat.core.ffi.FieldEvent
import id.tepat.core.ffi.FieldException
import id.tepat.core.ffi.ItemStatus
import id.tepat.core.ffi.ViewModel
import java.io.File
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlin.test.fail

/** Syncs through the session and waits until no round trip is in flight; returns the view after it. */
private fun Phone.sync(): ViewModel {
    val done = LinkedBlockingQueue<Any>()
    session.syncInBackground { view -> done.put(view ?: "no view") }
    return done.poll(120, TimeUnit.SECONDS) as? ViewModel ?: fail("the sync did not finish")
}

/** Kota Bengkulu: one enumerator with two households on the test form, one supervisor. */
private fun TestServer.setUp(): TestServer {
    admin("create-user", "--id", "pkh01", "--name", "Siti Rahma", "--role", "enumerator", "--region", "17.71")
    admin("create-user", "--id", "sup01", "--name", "Korkab Bengkulu", "--role", "supervisor", "--region", "17.71")
    admin("publish-form", property("tepat.testForm"))
    val csv = File(data, "assignments.csv")
    csv.writeText(
        """
        assignment_id,user_id,form_id,form_version,region_code,label,head_name,kk_member_count
        A-1,pkh01,uji,1,17.71.01.1001,Siti · RT 003,Siti,1
        A-2,pkh01,uji,1,17.71.01.1001,Budi · RT 004,Budi,3
        """.trimIndent() + "\n",
    )
    admin("import-assignments", csv.path)
    return start()
}

fun syncTests(runner: Runner) = with(runner) {
    test("sync against a real tepat-server: enrol, receive assignments, send a visit, get it back for correction") {
        TestServer().setUp().use { server ->
            Phone(serverUrl = server.url).use { phone ->
                // A used or unknown code is refused in words; a good one makes the phone the user's.
                val refused = assertFailsWith<FieldException.Enrol> {
                    phone.session.call { it.enrol("AAAA-BBBB-CCCC", "Ponsel uji") }
                }
                assertTrue(refused.detail.contains("Kode pendaftaran"), refused.detail)
                var view = phone.session.call { it.enrol(server.enrolCode("pkh01"), "Ponsel uji") }
                assertEquals("Siti Rahma · Pendamping PKH", view.user)

                view = phone.sync()
                assertNull(view.sync.lastError, "${view.sync}; server log: ${server.log()}")
                assertEquals(listOf("A-1", "A-2"), view.today().items.map { it.assignmentId }.sorted())

                phone.completeFoundVisit()
                val visitId = phone.view.visit().visitId
                view = phone.send(FieldEvent.Finalise)
                assertEquals(1u, view.sync.outbox)
                view = phone.sync()
                assertEquals(0u, view.sync.outbox, "${view.sync}")
                assertNotNull(view.sync.lastSuccess)
                assertEquals(ItemStatus.ACCEPTED, view.today().items.first { it.assignmentId == "A-1" }.status)

                // The supervisor sees it and returns it with a comment.
                val token = server.supervisorToken(server.enrolCode("sup01"))
                val (pulled, visits) = server.request("GET", "/api/v1/supervisor/visits?since=0", token)
                assertEquals(200, pulled, visits)
                assertTrue(visits.contains(visitId), visits)
                val review = """{"visit_id": "$visitId", "revision": 1, "decision": "return",
                    "comment": "Foto rumah kurang jelas, ulangi"}"""
                val (reviewed, answer) = server.request("POST", "/api/v1/supervisor/review", token, review)
                assertEquals(200, reviewed, answer)

                view = phone.sync()
                val item = view.today().items.first { it.assignmentId == "A-1" }
                assertEquals(ItemStatus.RETURNED, item.status, item.statusText)
                assertEquals("Foto rumah kurang jelas, ulangi", item.supervisorComment)

                // Reopened as revision 2 with the comment; corrected and sent again.
                view = phone.send(FieldEvent.OpenAssignment("A-1"))
                assertEquals(2u, view.visit().revision)
                assertEquals("Foto rumah kurang jelas, ulangi", view.visit().supervisorComment)
                phone.goTo("Rumah")
                phone.send(FieldEvent.TakePhoto("photo_front"))
                phone.camera.settle()
                view = phone.send(FieldEvent.Finalise)
                assertEquals(1u, view.sync.outbox)
                view = phone.sync()
                assertEquals(0u, view.sync.outbox, "${view.sync}")
                val (_, again) = server.request("GET", "/api/v1/supervisor/visits?since=0", token)
                assertTrue(Regex("\"revision\"\\s*:\\s*2").containsMatchIn(again), again)
            }
        }
    }

    test("a server that cannot be reached: the visit waits in the outbox and the problem is said in words") {
        TestServer().setUp().use { server ->
            Phone(serverUrl = server.url).use { phone ->
                phone.session.call { it.enrol(server.enrolCode("pkh01"), "Ponsel uji") }
                phone.sync()
                phone.completeFoundVisit()
                phone.send(FieldEvent.Finalise)
                server.close()
                val view = phone.sync()
                assertEquals(1u, view.sync.outbox)
                assertNotNull(view.sync.lastError)
                assertEquals(ItemStatus.IN_OUTBOX, view.today().items.first { it.assignmentId == "A-1" }.status)
            }
        }
    }

    test("with photos set, the visit's photo reaches the server after the text, byte for byte, and leaves the outbox") {
        TestServer().setUp().use { server ->
            Phone(serverUrl = server.url, photoDir = File(tempDir(), "photos-ready")).use { phone ->
                phone.session.call { it.enrol(server.enrolCode("pkh01"), "Ponsel uji") }
                phone.sync()
                phone.completeFoundVisit()
                val photo = phone.goTo("Rumah").visit().fields
                    .first { it.path == "photo_front" }.answer as? id.tepat.core.ffi.AnswerView.Photo
                    ?: fail("no photo")
                var view = phone.send(FieldEvent.Finalise)
                assertEquals(1u, view.sync.outbox)
                assertTrue(File(photo.file).exists())

                view = phone.sync()
                assertEquals(0u, view.sync.outbox, "${view.sync}")
                assertEquals(0u, view.sync.photosWaiting, "${view.sync}; server log: ${server.log()}")
                assertNull(view.sync.photosText)

                val token = server.supervisorToken(server.enrolCode("sup01"))
                val connection = java.net.URI("${server.url}/api/v1/media/${photo.sha256}").toURL()
                    .openConnection() as java.net.HttpURLConnection
                connection.setRequestProperty("Authorization", "Bearer $token")
                assertEquals(200, connection.responseCode)
                val bytes = connection.inputStream.use { it.readBytes() }
                assertTrue(bytes.contentEquals(File(photo.file).readBytes()), "the server has the prepared photo")
            }
        }
    }
}
