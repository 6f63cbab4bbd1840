// Versions are pinned here and listed in README.md (AGP, Kotlin); Gradle's in gradle/wrapper.
plugins {
    id("com.android.application") version "8.13.0" apply false
    id("org.jetbrains.kotlin.android") version "2.4.20" apply false
    id("org.jetbrains.kotlin.jvm") version "2.4.20" apply false
}
