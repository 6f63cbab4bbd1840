package id.tepat.core.test

/**
 * A tiny test runner (no JUnit on this machine's offline toolchain; kotlin-test's assertions are): runs every
 * registered test in order, prints one line per test and `N passed, N failed`, and exits non-zero on a failure.
 */
class Runner {
    private val tests = mutableListOf<Pair<String, () -> Unit>>()

    fun test(name: String, body: () -> Unit) {
        tests += name to body
    }

    fun run(only: String?): Int {
        var passed = 0
        var failed = 0
        for ((name, body) in tests) {
            if (only != null && !name.contains(only)) continue
            val started = System.nanoTime()
            try {
                body()
                passed++
                println("ok      $name (${(System.nanoTime() - started) / 1_000_000} ms)")
            } catch (e: Throwable) {
                failed++
                println("FAILED  $name")
                e.printStackTrace(System.out)
            }
        }
        println("$passed passed, $failed failed")
        return failed
    }
}
