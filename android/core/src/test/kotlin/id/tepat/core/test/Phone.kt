package id.tepat.core.test

import id.tepat.core.CameraProvider
import id.tepat.core.AesGcmKeyWrapper
import id.tepat.core.ConnectivityMonitor
import id.tepat.core.DatabaseKeySource
import id.tepat.core.FieldSession
import id.tepat.core.LocationProvider
import id.tepat.core.WrappedKeyFile
import id.tepat.core.ffi.FieldConfig
import id.tepat.core.ffi.FieldEvent
import id.tepat.core.ffi.FieldView
import id.tepat.core.ffi.FinaliseView
import id.tepat.core.ffi.Identity
import id.tepat.core.ffi.LocationOutput
import id.tepat.core.ffi.PhotoConfig
import id.tepat.core.ffi.PhotoResult
import id.tepat.core.ffi.Role
import id.tepat.core.ffi.Screen
import id.tepat.core.ffi.TodayView
import id.tepat.core.ffi.ViewModel
import id.tepat.core.ffi.VisitView
import java.io.File
import java.nio.file.Files
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlin.test.assertNotNull
import kotlin.test.fail

/** A path the Makefile passes as a system property. */
fun property(name: String): String =
    System.getProperty(name) ?: error("run with -D$name=… (make test-android sets it)")

val testForm: String by lazy { File(property("tepat.testForm")).readText() }

/** The forms that ship with the app (schemas/forms). */
val realForms: List<String> by lazy {
    File(property("tepat.forms")).listFiles { f -> f.name.endsWith(".json") }!!.sorted().map { it.readText() }
}

const val ASSIGNMENTS = """[
  {"assignment_id": "A-1", "form_id": "uji", "form_version": 1, "region_code": "17.71.01.1001",
   "label": "Siti · RT 003", "prefill": {"head_name": "Siti", "kk_member_count": "1"}},
  {"assignment_id": "A-2", "form_id": "uji", "form_version": 1, "region_code": "17.71.01.1001",
   "label": "Budi · RT 004"}
]"""

private val tempDirs = CopyOnWriteArrayList<File>().also { dirs ->
    Runtime.getRuntime().addShutdownHook(Thread { dirs.forEach { it.deleteRecursively() } })
}

/** Stands in for the Android Keystore's AES key in these JVM tests (the same wrapping code, a software key). */
val testWrapper = AesGcmKeyWrapper(javax.crypto.spec.SecretKeySpec(ByteArray(32) { (it * 7 + 1).toByte() }, "AES"))

/** The database key of the phone whose files are in [dir], kept wrapped as the app keeps it. */
fun testKeys(dir: File): DatabaseKeySource = WrappedKeyFile(File(dir, "phone.db.key"), testWrapper)

/** A fresh directory, removed with everything in it when the test run ends. */
fun tempDir(): File = Files.createTempDirectory("tepat-jvm").toFile().also { tempDirs += it }

/** GPS requests wait here until the test answers them (as a phone's location service answers later). */
class FakeLocation : LocationProvider {
    val requests = LinkedBlockingQueue<Pair<String, (LocationOutput) -> Unit>>()

    override fun requestFix(path: String, done: (LocationOutput) -> Unit) {
        requests.put(path to done)
    }

    fun next(): Pair<String, (LocationOutput) -> Unit> =
        requests.poll(30, TimeUnit.SECONDS) ?: fail("no location request")
}

/**
 * A camera's photo: a [width]×[height] JPEG at quality 0.95 (a pattern with noise, so it compresses as a photo
 * does, not as a flat colour), different for each [seed].
 */
fun cameraJpeg(width: Int, height: Int, seed: Int): ByteArray {
    val image = java.awt.image.BufferedImage(width, height, java.awt.image.BufferedImage.TYPE_INT_RGB)
    val random = java.util.Random(seed.toLong())
    for (y in 0 until height) {
        for (x in 0 until width) {
            val wall = if (y < height / 3) 0x87CEEB else if ((x / 40 + y / 40) % 2 == 0) 0xC8A27A else 0xB07050
            image.setRGB(x, y, wall xor random.nextInt(0x10))
        }
    }
    val writer = javax.imageio.ImageIO.getImageWritersByFormatName("jpeg").next()
    val out = java.io.ByteArrayOutputStream()
    javax.imageio.ImageIO.createImageOutputStream(out).use { stream ->
        writer.output = stream
        val quality = writer.defaultWriteParam.apply {
            compressionMode = javax.imageio.ImageWriteParam.MODE_EXPLICIT
            compressionQuality = 0.95f
        }
        writer.write(null, javax.imageio.IIOImage(image, null, null), quality)
    }
    writer.dispose()
    return out.toByteArray()
}

/** A camera that "takes" a photo on its own thread: it writes a JPEG ([cameraJpeg]) and answers with it. */
class FakeCamera(private val dir: File) : CameraProvider {
    val taken = CopyOnWriteArrayList<File>()
    private val threads = CopyOnWriteArrayList<Thread>()

    override fun takePhoto(path: String, done: (PhotoResult) -> Unit) {
        val thread = Thread {
            val file = File(dir, "photo-${taken.size + 1}.jpg")
            file.writeBytes(cameraJpeg(1200, 900, taken.size + 1))
            taken += file
            done(PhotoResult.Taken(file.absolutePath))
        }
        threads += thread
        thread.start()
    }

    /** Waits until every photo asked for has been answered. */
    fun settle() = threads.forEach { it.join(30_000) }
}

/** A network the test switches on and off. */
class FakeNetwork : ConnectivityMonitor {
    @Volatile
    var listener: ((Boolean) -> Unit)? = null

    override fun start(changed: (online: Boolean) -> Unit) {
        listener = changed
    }

    override fun stop() {
        listener = null
    }
}

/** Every view and error a session reported. */
class Recorder : FieldSession.Listener {
    val views = CopyOnWriteArrayList<ViewModel>()
    val errors = CopyOnWriteArrayList<Throwable>()

    override fun onView(view: ViewModel) {
        views += view
    }

    override fun onError(error: Throwable) {
        errors += error
    }
}

/** A phone: a session on a database in [dir], with fake GPS, camera and network. */
class Phone(
    val dir: File = tempDir(),
    forms: List<String> = listOf(testForm),
    serverUrl: String? = null,
    /** Photos prepared into this folder and uploaded, as the app sets them; `null`: hashed only. */
    photoDir: File? = null,
    /** The database key; by default kept wrapped in [dir] by [testWrapper]. */
    keys: DatabaseKeySource = testKeys(dir),
) : AutoCloseable {
    val location = FakeLocation()
    val camera = FakeCamera(dir)
    val network = FakeNetwork()
    val recorder = Recorder()
    val session = FieldSession(
        FieldConfig(File(dir, "phone.db").absolutePath, forms, false, serverUrl, null),
        keys,
        location,
        camera,
        network,
        photoDir?.let { PhotoConfig(it.absolutePath, true, true, 7u) },
    ).apply { addListener(recorder) }

    val view: ViewModel
        get() {
            session.awaitIdle()
            return session.views.value ?: fail("no view yet")
        }

    fun send(event: FieldEvent): ViewModel = session.sendAndWait(event)

    fun answer(path: String, text: String) = send(FieldEvent.Answer(path, text))

    fun choose(path: String, code: String) = send(FieldEvent.Choose(path, code))

    fun goTo(title: String): ViewModel {
        val tab = view.visit().sections.find { it.title == title } ?: fail("no section $title in ${view.visit().sections}")
        return send(FieldEvent.GoToSection(tab.index))
    }

    fun enrolled(role: Role = Role.ENUMERATOR): Phone {
        send(FieldEvent.UseIdentity(Identity("D-1", "U-1", "Rina", role, listOf("17.71"))))
        send(FieldEvent.ImportAssignments(ASSIGNMENTS))
        return this
    }

    /** A-1 opened, the family found, a photo and one member (the head): what a clean finalise needs. */
    fun completeFoundVisit() {
        send(FieldEvent.OpenAssignment("A-1"))
        choose("visit_outcome", "1")
        goTo("Rumah")
        send(FieldEvent.TakePhoto("photo_front"))
        camera.settle()
        goTo("Anggota keluarga")
        send(FieldEvent.AddMember("members"))
        answer("members[0].member_name", "Siti Aminah")
        choose("members[0].sex", "2")
        choose("members[0].relationship", "1")
        send(FieldEvent.CloseMember)
    }

    override fun close() = session.close()
}

fun ViewModel.visit(): VisitView = (screen as? Screen.Visit)?.v1 ?: fail("not a visit: $screen")

fun ViewModel.today(): TodayView = (screen as? Screen.Today)?.v1 ?: fail("not today's list: $screen")

fun ViewModel.finalise(): FinaliseView = (screen as? Screen.Finalise)?.v1 ?: fail("not the finalise screen: $screen")

fun ViewModel.field(path: String): FieldView =
    assertNotNull(visit().fields.find { it.path == path }, "no field $path in ${visit().fields.map { it.path }}")
