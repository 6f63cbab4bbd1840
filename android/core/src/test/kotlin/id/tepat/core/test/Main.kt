package id.tepat.core.test

import kotlin.system.exitProcess

/** `make test-android` runs this: every JVM test of the core module; an argument runs the tests whose name has it. */
fun main(args: Array<String>) {
    val runner = Runner()
    sessionTests(runner)
    syncTests(runner)
    keyTests(runner)
    val failed = runner.run(args.firstOrNull())
    exitProcess(if (failed == 0) 0 else 1)
}
