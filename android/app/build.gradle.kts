// The UI: Android framework APIs only (no AndroidX, no Compose). Rust libraries come from cargo-ndk
// (`make android` writes them to build/jniLibs); the forms ship as assets from schemas/forms.
plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "id.tepat.field"
    compileSdk = 35
    ndkVersion = "27.2.12479018"

    defaultConfig {
        applicationId = "id.tepat.field"
        minSdk = 24
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        ndk { abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64") }
    }

    // Every release is signed with the deployment's one release key (android/README.md, "Release key"): an
    // update signed with another key does not install over the app, and uninstalling first deletes the visits
    // not yet synced. Never the build machine's debug key. The key comes from the environment (or Gradle
    // properties of the same names); without it a release build stops and says so.
    val releaseKey = listOf("TEPAT_KEYSTORE", "TEPAT_KEYSTORE_PASSWORD", "TEPAT_KEY_ALIAS", "TEPAT_KEY_PASSWORD")
        .associateWith { name -> System.getenv(name) ?: (findProperty(name) as String?) }
    signingConfigs {
        create("release") {
            releaseKey["TEPAT_KEYSTORE"]?.let { storeFile = file(it) }
            storePassword = releaseKey["TEPAT_KEYSTORE_PASSWORD"]
            keyAlias = releaseKey["TEPAT_KEY_ALIAS"]
            keyPassword = releaseKey["TEPAT_KEY_PASSWORD"]
        }
    }

    buildTypes {
        release {
            isMinifyEnabled = true
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
            signingConfig = signingConfigs.getByName("release")
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    sourceSets["main"].apply {
        java.srcDir("src/main/kotlin")
        jniLibs.srcDir(layout.buildDirectory.dir("jniLibs"))
        assets.srcDir(layout.buildDirectory.dir("generated/forms"))
    }
}

kotlin {
    jvmToolchain(17)
}

// A release without the release key is refused before anything is built (not silently debug-signed).
gradle.taskGraph.whenReady {
    if (allTasks.any { it.project == project && it.name.endsWith("Release") }) {
        val missing = listOf("TEPAT_KEYSTORE", "TEPAT_KEYSTORE_PASSWORD", "TEPAT_KEY_ALIAS", "TEPAT_KEY_PASSWORD")
            .filter { System.getenv(it) == null && findProperty(it) == null }
        if (missing.isNotEmpty()) {
            throw GradleException("release signing key not configured: set $missing (see android/README.md, Release key)")
        }
    }
}
