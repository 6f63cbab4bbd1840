# Tepat — the two commands a newcomer needs are `make demo` and `make test`.
# Project-local tools (the Kotlin compiler from npm, schemathesis from PyPI) go into .tools/ (ignored).

SHELL := /bin/bash
CARGO ?= cargo
TOOLS := $(CURDIR)/.tools

.PHONY: demo test test-rust test-api lint bench fuzz bindings android check-system console-deps

## The main job on an embedded default: a server, a field day offline, a flaky sync, a supervisor review.
## The server is built first, in the open, so the demo itself starts at once (it runs the server binary). It ends
## with the web console's address and a login, and keeps the server up until Enter (at a terminal only;
## `TEPAT_DEMO_WAIT=0` or a non-terminal stdin does not wait).
demo:
	$(CARGO) build -p tepat-server --bin tepat-server
	$(CARGO) run -q -p tepat-e2e --bin tepat-demo

## Every test: Rust unit/property/integration/end-to-end tests, then schemathesis against a running server.
test: test-rust test-api test-android

test-rust: console-deps
	$(CARGO) test --workspace

## The web console's browser test (tests/tests/console_browser.rs): Debian's headless chromium, installed by its
## package name when running as root (otherwise the line to run is printed), and playwright-core from npm,
## pinned by tests/console/package-lock.json, into tests/console/node_modules (ignored).
console-deps:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; \
	  else echo "chromium is missing (the console's browser test): apt-get install -y chromium" >&2; exit 1; fi; }
	npm ci --prefix tests/console --no-audit --no-fund --loglevel=error

## schemathesis (PyPI, into .tools/venv) against a running tepat-server with schemas/openapi.yaml: no 5xx, and
## every response matches the document.
test-api:
	TOOLS=$(TOOLS) CARGO=$(CARGO) bash server/scripts/test-api.sh

## Formatting and lints, as CI checks them.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## The figures of BENCHMARKS.md, each against a baseline measured in the same run, rewritten in place (release
## build; a few minutes on 2 cores). One figure: `cargo run --release -p tepat-e2e --bin tepat-bench -- --only N`.
bench:
	$(CARGO) build --release -p tepat-server -p tepat-e2e --bin tepat-server --bin tepat-bench
	$(CARGO) run --release -q -p tepat-e2e --bin tepat-bench -- --out $(CURDIR)/BENCHMARKS.md

## A long fuzzing run of the parsers that meet untrusted bytes (tests/tests/fuzz.rs: sync/enrol bodies, assignment
## CSV import, form expressions), FUZZ_CASES inputs per target in a release build; `make test` runs 256 of each.
FUZZ_CASES ?= 100000
fuzz:
	TEPAT_FUZZ_CASES=$(FUZZ_CASES) $(CARGO) test --release -p tepat-e2e --test fuzz -- --test-threads 3

## ---------------------------------------------------------------------------------------------------------------
## Android (android/README.md). Fetched into .tools/: the Kotlin compiler (npm) and the Android API 23 framework
## (Robolectric's android-all jar from Maven Central, by its coordinates through Maven, checked by SHA-256). From the
## system: JNA, aapt2 and Maven (`.ci/run` installs them).
.PHONY: test-android check-android-tools
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
DEBUG_DIR := $(TARGET_DIR)/debug
KOTLIN_HOME := $(TOOLS)/kotlin/node_modules/kotlin-compiler
KOTLINC := $(KOTLIN_HOME)/bin/kotlinc
KOTLIN_LIB := $(KOTLIN_HOME)/lib
COROUTINES_JAR := $(KOTLIN_LIB)/kotlinx-coroutines-core-jvm.jar
JNA_JAR := /usr/share/java/jna.jar
# Android 6.0.1 (API 23): the framework classes and its resources table (aapt2 links against it).
ANDROID_ARTIFACT := org.robolectric:android-all:6.0.1_r3-robolectric-r1
ANDROID_JAR_SHA256 := a2d84271c5f033b1d082741a02f37a2d043120c0c09e5854e97ece9c3bb11d31
ANDROID_JAR := $(TOOLS)/android-23/android-all-6.0.1_r3-robolectric-r1.jar
BINDINGS_DIR := android/core/build/generated/uniffi/kotlin
JVM_DIR := android/build/jvm
ANDROID_ABIS := -t arm64-v8a -t armeabi-v7a -t x86_64

$(KOTLINC):
	npm install --prefix $(TOOLS)/kotlin --no-audit --no-fund kotlin-compiler@2.4.20

$(ANDROID_JAR):
	mvn -q -B -Dmaven.repo.local=$(TOOLS)/m2 dependency:copy -Dartifact=$(ANDROID_ARTIFACT) \
	  -DoutputDirectory=$(TOOLS)/android-23
	echo "$(ANDROID_JAR_SHA256)  $@" | sha256sum --check --quiet \
	  || { echo "$(ANDROID_ARTIFACT): SHA-256 mismatch, not used" >&2; rm -f $@; exit 1; }
	touch $@

check-android-tools:
	@test -f $(JNA_JAR) || { echo "JNA is missing ($(JNA_JAR)): apt-get install -y libjna-java libjna-jni" >&2; exit 1; }
	@command -v aapt2 >/dev/null || { echo "aapt2 is missing: apt-get install -y aapt" >&2; exit 1; }
	@command -v mvn >/dev/null || { echo "Maven is missing: apt-get install -y maven" >&2; exit 1; }

## What test-android builds with cargo. Under `make test` it is the set `cargo test --workspace` has just built
## (same packages, targets and features), so nothing is compiled twice.
ANDROID_CARGO_BUILD := -p tepat-ffi -p uniffi-bindgen -p tepat-server
test: ANDROID_CARGO_BUILD := --workspace --lib --bins --tests

define generate_bindings
	rm -rf $(BINDINGS_DIR) && mkdir -p $(BINDINGS_DIR)
	$(DEBUG_DIR)/uniffi-bindgen generate --library $(DEBUG_DIR)/libshared.so --language kotlin --no-format \
	  --config android/uniffi.toml --out-dir $(BINDINGS_DIR)
endef

## The Kotlin bindings of the shared library (uniffi), into android/core/build/generated (ignored).
bindings:
	$(CARGO) build -p tepat-ffi -p uniffi-bindgen
	$(generate_bindings)

## On this machine: the core module (bindings + FieldSession) compiles and its JVM tests drive the real Rust
## library (and a real tepat-server on loopback); the app module compiles against android.jar with its resources.
test-android: check-android-tools $(KOTLINC) $(ANDROID_JAR)
	$(CARGO) build $(ANDROID_CARGO_BUILD)
	$(generate_bindings)
	rm -rf $(JVM_DIR) && mkdir -p $(JVM_DIR)/gen
	@# One kotlinc run per module (each costs ~10 s of start-up): core = bindings + main + JVM tests.
	$(KOTLINC) -jvm-target 17 -Werror -cp $(JNA_JAR):$(COROUTINES_JAR):$(KOTLIN_LIB)/kotlin-test.jar \
	  -d $(JVM_DIR)/core $(BINDINGS_DIR) android/core/src/main/kotlin android/core/src/test/kotlin
	java -Djna.library.path=$(DEBUG_DIR) -Dtepat.server=$(DEBUG_DIR)/tepat-server \
	  -Dtepat.forms=$(CURDIR)/schemas/forms -Dtepat.testForm=$(CURDIR)/shared/app/src/tests/test_form.json \
	  -cp $(JVM_DIR)/core:$(KOTLIN_LIB)/kotlin-stdlib.jar:$(COROUTINES_JAR):$(KOTLIN_LIB)/kotlin-test.jar:$(JNA_JAR) \
	  id.tepat.core.test.MainKt
	@# Every translatable string in Bahasa Indonesia (values/) has its English (values-en/), and no more.
	diff <(grep -v 'translatable="false"' android/app/src/main/res/values/strings.xml | grep -o 'name="[a-z_]*"' | sort) \
	  <(grep -o 'name="[a-z_]*"' android/app/src/main/res/values-en/strings.xml | sort) \
	  || { echo "android: values/ and values-en/strings.xml name different strings (see the diff above)" >&2; exit 1; }
	sed 's|<manifest |<manifest package="id.tepat.field" |' android/app/src/main/AndroidManifest.xml > $(JVM_DIR)/AndroidManifest.xml
	aapt2 compile --dir android/app/src/main/res -o $(JVM_DIR)/res.zip
	aapt2 link -I $(ANDROID_JAR) --manifest $(JVM_DIR)/AndroidManifest.xml --min-sdk-version 24 \
	  --target-sdk-version 35 --java $(JVM_DIR)/gen -o $(JVM_DIR)/resources.apk $(JVM_DIR)/res.zip
	@# android-all holds the android.* framework but not java.*: the JDK supplies those (see android/README.md).
	$(KOTLINC) -jvm-target 17 -Werror -cp $(ANDROID_JAR):$(JVM_DIR)/core:$(JNA_JAR):$(COROUTINES_JAR) \
	  -d $(JVM_DIR)/app android/app/src/main/kotlin $(JVM_DIR)/gen
	@echo "test-android: core JVM tests passed; app module compiles against android.jar (API 23)"

## The APK (debug-signed release build), on a machine with the Android SDK, NDK and cargo-ndk (android/README.md).
android:
	@test -n "$${ANDROID_HOME:-$$ANDROID_SDK_ROOT}" || { echo "make android needs the Android SDK and NDK: set ANDROID_HOME (see android/README.md). This machine can only run make test-android." >&2; exit 1; }
	@command -v cargo-ndk >/dev/null || { echo "make android needs cargo-ndk: cargo install cargo-ndk --version 3.5.4 (see android/README.md)" >&2; exit 1; }
	@command -v gradle >/dev/null || test -x android/gradlew || { echo "make android needs Gradle 8.14.3 (see android/README.md)" >&2; exit 1; }
	rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
	$(CARGO) ndk $(ANDROID_ABIS) --platform 24 -o android/app/build/jniLibs build -p tepat-ffi --lib --release
	$(MAKE) --no-print-directory bindings
	cd android && $$(test -x gradlew && echo ./gradlew || echo gradle) --no-daemon :app:assembleRelease
	@ls -l android/app/build/outputs/apk/release/
