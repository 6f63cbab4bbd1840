package id.tepat.core.test

import java.io.File
import java.net.HttpURLConnection
import java.net.URI
import java.util.concurrent.TimeUnit

/**
 * A real `tepat-server` on loopback with a fresh data directory: users, the test form and assignments set up
 * with its admin CLI (as an admin would), then `serve --listen 127.0.0.1:0`.
 */
class TestServer : AutoCloseable {
    private val binary = File(property("tepat.server")).also {
        check(it.canExecute()) { "$it is not built (make test-android builds it)" }
    }
    val data: File = tempDir()
    private var process: Process? = null
    lateinit var url: String
        private set

    /** Runs `tepat-server admin --data DIR args…` and returns what it printed; fails the test if it fails. */
    fun admin(vararg args: String): String {
        val command = listOf(binary.path, "admin", "--data", data.path) + args
        val run = ProcessBuilder(command).redirectErrorStream(true).start()
        val output = run.inputStream.bufferedReader().readText()
        check(run.waitFor(60, TimeUnit.SECONDS) && run.exitValue() == 0) { "${command.joinToString(" ")}: $output" }
        return output.trim()
    }

    /** A one-time enrolment code for [user]. */
    fun enrolCode(user: String): String {
        val output = admin("enrol-code", "--user", user)
        return CODE.find(output)?.value ?: error("no enrolment code in: $output")
    }

    fun start(): TestServer {
        val run = ProcessBuilder(binary.path, "serve", "--listen", "127.0.0.1:0", "--data", data.path)
            .redirectError(File(data, "server.log"))
            .start()
        process = run
        val first = run.inputStream.bufferedReader().readLine() ?: error("the server printed nothing: ${log()}")
        url = Regex("http://\\S+").find(first)?.value ?: error("no address in: $first")
        return this
    }

    fun log(): String = File(data, "server.log").takeIf { it.exists() }?.readText().orEmpty()

    /** One JSON request with [token] as the bearer; returns the status and the body. */
    fun request(method: String, path: String, token: String?, body: String? = null): Pair<Int, String> {
        val connection = URI(url + path).toURL().openConnection() as HttpURLConnection
        connection.requestMethod = method
        token?.let { connection.setRequestProperty("Authorization", "Bearer $it") }
        if (body != null) {
            connection.doOutput = true
            connection.setRequestProperty("Content-Type", "application/json")
            connection.outputStream.use { it.write(body.toByteArray()) }
        }
        val status = connection.responseCode
        val stream = if (status < 400) connection.inputStream else connection.errorStream
        return status to (stream?.bufferedReader()?.readText().orEmpty())
    }

    /** Enrols a device for a supervisor (as the supervisor's own tool would) and returns its token. */
    fun supervisorToken(code: String): String {
        val (status, body) = request("POST", "/api/v1/enrol", null, """{"code": "$code", "device_name": "laptop"}""")
        check(status == 200) { "enrol: $status $body" }
        return Regex("\"token\"\\s*:\\s*\"([^\"]+)\"").find(body)?.groupValues?.get(1) ?: error("no token: $body")
    }

    override fun close() {
        process?.let {
            it.destroy()
            if (!it.waitFor(30, TimeUnit.SECONDS)) it.destroyForcibly()
        }
    }

    private companion object {
        val CODE = Regex("[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}")
    }
}
