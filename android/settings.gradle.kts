// Tepat's Android app: `core` (plain Kotlin/JVM: uniffi bindings + FieldSession) and `app` (the UI, framework
// APIs only). Built by `make android` (see README.md); `make test-android` checks both without Gradle.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "tepat-android"
include(":core", ":app")
