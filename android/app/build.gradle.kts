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

    buildTypes {
        release {
            isMinifyEnabled = true
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
            // Signed with the debug key so `make android` gives an installable APK; sign releases for the store.
            signingConfig = signingConfigs.getByName("debug")
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

// schemas/forms/*.json → assets/forms/ (installed by the core on first start).
val copyForms by tasks.registering(Copy::class) {
    from(rootDir.resolve("../schemas/forms")) { include("*.json") }
    into(layout.buildDirectory.dir("generated/forms/forms"))
}
tasks.named("preBuild") { dependsOn(copyForms) }

dependencies {
    implementation(project(":core"))
    implementation("net.java.dev.jna:jna:5.14.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.8.0")
}
