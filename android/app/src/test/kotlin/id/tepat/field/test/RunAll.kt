package id.tepat.field.test

import org.junit.Test
import org.junit.runner.Description
import org.junit.runner.JUnitCore
import org.junit.runner.Request
import org.junit.runner.notification.Failure
import org.junit.runner.notification.RunListener
import kotlin.system.exitProcess

/** Every Robolectric test class of the app module (JUnit 4 outside Gradle: listed here, run by [main]). */
val testClasses: List<Class<*>> = listOf(
    TypingTest::class.java,
    TodayListTest::class.java,
    KeyboardTest::class.java,
    CameraTest::class.java,
    LocationTest::class.java,
    PlatformTest::class.java,
    EncryptionTest::class.java,
    PrefillTest::class.java,
)

/**
 * Runs the app's Robolectric tests: one line per test, then `N passed, N failed`; exits non-zero on a failure.
 * One argument runs only the tests whose name contains it.
 */
fun main(args: Array<String>) {
    val only = args.firstOrNull()
    val core = JUnitCore()
    var passed = 0
    var failed = 0
    core.addListener(object : RunListener() {
        private var failure: Failure? = null
        private var started = 0L

        override fun testStarted(description: Description) {
            failure = null
            started = System.nanoTime()
        }

        override fun testFailure(failure: Failure) {
            this.failure = failure
        }

        override fun testFinished(description: Description) {
            val name = "${description.testClass.simpleName}.${description.methodName}"
            val ms = (System.nanoTime() - started) / 1_000_000
            val failure = failure
            if (failure == null) {
                passed++
                println("ok      $name ($ms ms)")
            } else {
                failed++
                println("FAILED  $name")
                println(failure.trace)
            }
        }
    })
    for (testClass in testClasses) {
        val matching = testClass.methods.any { it.isAnnotationPresent(Test::class.java) && it.name.contains(only ?: "") }
        if (!matching) continue
        val request = Request.aClass(testClass).let { all ->
            if (only == null) all else all.filterWith(object : org.junit.runner.manipulation.Filter() {
                override fun shouldRun(description: Description) =
                    description.isSuite || description.methodName.orEmpty().contains(only)

                override fun describe() = "name contains $only"
            })
        }
        core.run(request)
    }
    println("$passed passed, $failed failed")
    exitProcess(if (failed == 0) 0 else 1)
}
