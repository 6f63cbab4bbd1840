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
demo: check-system
	$(CARGO) build -p tepat-server --bin tepat-server
	$(CARGO) run -q -p tepat-e2e --bin tepat-demo

## Every test: Rust unit/property/integration/end-to-end tests, the server's tests on PostgreSQL, then schemathesis
## against a running server.
test: test-rust test-postgres test-api test-android

## Without a cluster: a test that needs one (tests/tests/two_servers_postgres.rs) says it was skipped, even under
## TEPAT_REQUIRE_POSTGRES=1 (.ci/run), which test-postgres, where it runs, enforces.
test-rust: check-system console-deps
	env -u TEPAT_REQUIRE_POSTGRES $(CARGO) test --workspace

## What every cargo build needs from the system: the headers and libcrypto of OpenSSL (Debian's libssl-dev), which
## SQLCipher, the device database's encryption, uses (ARCHITECTURE.md, "The phone's database at rest"). Installed by
## its package name when running as root (as CI does), otherwise the line to run is printed.
check-system:
	@test -f /usr/include/openssl/evp.h || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends libssl-dev; \
	  else echo "libssl-dev is missing (SQLCipher's crypto): apt-get install -y libssl-dev" >&2; exit 1; fi; }

## The web console's browser test (tests/tests/console_browser.rs): Debian's headless chromium, installed by its
## package name when running as root (otherwise the line to run is printed), and playwright-core from npm,
## pinned by tests/console/package-lock.json, into tests/console/node_modules (ignored).
console-deps:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; \
	  else echo "chromium is missing (the console's browser test): apt-get install -y chromium" >&2; exit 1; fi; }
	npm ci --prefix tests/console --no-audit --no-fund --loglevel=error

## The server on PostgreSQL (issue 17; server/README.md, "PostgreSQL"): a throw-away cluster (server/scripts/
## pg-cluster.sh: initdb into a temporary directory as an unprivileged user, loopback only, removed after) runs the
## schema check (server/scripts/pg-schema-check.sh: postgres_schema.sql against the server's SQLite schema), the
## server's tests with TEPAT_TEST_POSTGRES set, the two-server end-to-end test (tests/tests/two_servers_postgres.rs:
## cuts, a kill, receipts across nodes) and schemathesis against a server on PostgreSQL (server/scripts/test-api.sh
## --postgres). Debian's `postgresql` is installed by its package name when missing and running as root (otherwise
## the line to run is printed); PG_BINDIR=DIR uses the binaries in DIR and installs nothing. Without binaries the PostgreSQL tests are skipped (and say so), unless TEPAT_REQUIRE_POSTGRES=1.
.PHONY: test-postgres
PG_CLUSTER := bash server/scripts/pg-cluster.sh
test-postgres: check-system
	@$(PG_CLUSTER) bindir >/dev/null 2>&1 || [ -n "$${PG_BINDIR:-}" ] || { \
	  if [ "$$(id -u)" = 0 ]; then { apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql; } \
	    || echo "apt-get install postgresql failed" >&2; \
	  else echo "PostgreSQL is missing (the PostgreSQL tests): apt-get install -y postgresql" >&2; fi; }
	@if ! why=$$($(PG_CLUSTER) bindir 2>&1 >/dev/null); then \
	  if [ "$${TEPAT_REQUIRE_POSTGRES:-}" = 1 ]; then echo "PostgreSQL tests required (TEPAT_REQUIRE_POSTGRES=1), but $$why" >&2; exit 1; fi; \
	  echo "PostgreSQL tests skipped: $$why"; exit 0; \
	fi; \
	$(PG_CLUSTER) run -- bash -c 'CARGO="$$1" bash server/scripts/pg-schema-check.sh && $$1 test -p tepat-server \
	  && $$1 test -p tepat-e2e --test two_servers_postgres -- --nocapture \
	  && TOOLS="$$2" CARGO="$$1" bash server/scripts/test-api.sh --postgres' _ "$(CARGO)" "$(TOOLS)"

## schemathesis (PyPI, into .tools/venv) against a running tepat-server with schemas/openapi.yaml: no 5xx, and
## every response matches the document.
test-api:
	TOOLS=$(TOOLS) CARGO=$(CARGO) bash server/scripts/test-api.sh

## Formatting and lints, as CI checks them.
lint: check-system
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## The figures of BENCHMARKS.md, each against a baseline measured in the same run, rewritten in place (release
## build; a few minutes on 2 cores). One figure: `cargo run --release -p tepat-e2e --bin tepat-bench -- --only N`.
## Figure 9 (ingest on PostgreSQL) runs in a throw-away cluster that commits durably (PG_DURABLE=1); without
## PostgreSQL's binaries that figure says it could not be measured.
bench: check-system
	$(CARGO) build --release -p tepat-server -p tepat-e2e --bin tepat-server --bin tepat-bench
	cluster=$$(server/scripts/pg-cluster.sh bindir >/dev/null 2>&1 && echo "server/scripts/pg-cluster.sh run --"); \
	  PG_DURABLE=1 $$cluster $(CARGO) run --release -q -p tepat-e2e --bin tepat-bench -- --out $(CURDIR)/BENCHMARKS.md

## A long fuzzing run of the parsers that meet untrusted bytes (tests/tests/fuzz.rs: sync/enrol bodies, assignment
## CSV import, form expressions), FUZZ_CASES inputs per target in a release build; `make test` runs 256 of each.
FUZZ_CASES ?= 100000
fuzz: check-system
	TEPAT_FUZZ_CASES=$(FUZZ_CASES) $(CARGO) test --release -p tepat-e2e --test fuzz -- --test-threads 3

## ---------------------------------------------------------------------------------------------------------------
## Android (android/README.md). Fetched into .tools/ (ignored), each checked by SHA-256: the Kotlin compiler (npm),
## and from Maven Central by coordinates (`mvn dependency:copy`, local repository .tools/m2): the Android 15 (API 35)
## framework as Robolectric's android-all jars (plain: kotlinc's class path; instrumented: what Robolectric runs;
## API 33's for aapt2's resources table), Robolectric + JUnit 4 (android/app/robolectric/pom.xml, every jar checked
## against jars.sha256), JNA (the jar for the JVM, the AAR for the 16 KB page check). From the system: a JDK 17,
## Maven and aapt2 (`.ci/run` installs them).
.PHONY: test-android check-android-tools
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
DEBUG_DIR := $(TARGET_DIR)/debug
KOTLIN_HOME := $(TOOLS)/kotlin/node_modules/kotlin-compiler
KOTLINC := $(KOTLIN_HOME)/bin/kotlinc
KOTLIN_LIB := $(KOTLIN_HOME)/lib
COROUTINES_JAR := $(KOTLIN_LIB)/kotlinx-coroutines-core-jvm.jar
ANDROID_SDK_VERSION := 15-robolectric-12650502
# The Android 13 (API 33) framework's resources table, for aapt2 only: Debian's aapt2 (2.19) cannot read the
# table of Android 14+ (its newer entry encoding) nor open android-all's zip64 jar, so aapt2 links against this
# one, extracted into a small APK (framework attribute and resource IDs never change between API levels; the
# manifest's API 34-35 elements are checked by check-manifest.sh instead).
ANDROID_RES_JAR := $(TOOLS)/android-33/android-all-13-robolectric-9030017.jar
ANDROID_RES_JAR_SHA256 := 6e67dca81d30295e31ee6a28cfb601b6b66aaeaee51a92386ed099a64cea5996
ANDROID_RES := $(TOOLS)/android-33/framework-res.apk
ANDROID_JAR := $(TOOLS)/android-35/android-all-$(ANDROID_SDK_VERSION).jar
ANDROID_JAR_SHA256 := 6c0670454f6fcee9f1b17aa393e81d71bf26e7e6ae7c5777ed3924b062191d5b
# Robolectric 4.14.1 runs SDK 35 from this exact file name (its `-i7` pre-instrumentation), offline.
ANDROID_RUNTIME_JAR := $(TOOLS)/android-35/android-all-instrumented-$(ANDROID_SDK_VERSION)-i7.jar
ANDROID_RUNTIME_JAR_SHA256 := 33c2d7cc4186d4605269d5d411fa1818972c5b30a9f70bfbbd3d430b076af52f
JNA_VERSION := 5.17.0
JNA_JAR := $(TOOLS)/jna/jna-$(JNA_VERSION).jar
JNA_JAR_SHA256 := b3a9408e7c51e08ef0e3bfcc08f443f6ec0f6191ba8cd7c18d53d2b22e5bdbc0
JNA_AAR := $(TOOLS)/jna/jna-$(JNA_VERSION).aar
JNA_AAR_SHA256 := 4dbeffffa665d97ad5aa7eee297531d3c841a86716ab7f774fd6956422b3cf38
ROBOLECTRIC_POM := android/app/robolectric/pom.xml
ROBOLECTRIC_SUMS := android/app/robolectric/jars.sha256
ROBOLECTRIC_LIB := $(TOOLS)/robolectric/lib
ROBOLECTRIC_CHECKED := $(ROBOLECTRIC_LIB)/.checked
ROBOLECTRIC_AAR_CLASSES := $(TOOLS)/robolectric/aar-classes
# The class path of the checked jars, and of the classes.jar inside each checked .aar (androidx.test's monitor).
ROBOLECTRIC_CP = $$(awk '$$2 ~ /\.jar$$/ {print "$(ROBOLECTRIC_LIB)/" $$2} $$2 ~ /\.aar$$/ {print "$(ROBOLECTRIC_AAR_CLASSES)/" $$2 ".jar"}' \
  $(ROBOLECTRIC_SUMS) | paste -sd:)
BINDINGS_DIR := android/core/build/generated/uniffi/kotlin
JVM_DIR := android/build/jvm
ANDROID_ABIS := -t arm64-v8a -t armeabi-v7a -t x86_64

$(KOTLINC):
	npm install --prefix $(TOOLS)/kotlin --no-audit --no-fund kotlin-compiler@2.4.20

# $(call maven_fetch,coordinates,file,sha256): one artifact from Maven Central into the file's directory.
define maven_fetch
	mvn -q -B -Dmaven.repo.local=$(TOOLS)/m2 dependency:copy -Dartifact=$(1) -DoutputDirectory=$(dir $(2))
	echo "$(3)  $(2)" | sha256sum --check --quiet \
	  || { echo "$(1): SHA-256 mismatch, not used" >&2; rm -f $(2); exit 1; }
	touch $(2)
endef

$(ANDROID_JAR):
	$(call maven_fetch,org.robolectric:android-all:$(ANDROID_SDK_VERSION),$@,$(ANDROID_JAR_SHA256))

$(ANDROID_RES_JAR):
	$(call maven_fetch,org.robolectric:android-all:13-robolectric-9030017,$@,$(ANDROID_RES_JAR_SHA256))

$(ANDROID_RES): $(ANDROID_RES_JAR)
	rm -rf $(@D)/res && mkdir -p $(@D)/res
	cd $(@D)/res && jar xf $< resources.arsc AndroidManifest.xml && rm -f $@ && jar cf0M $@ resources.arsc AndroidManifest.xml
	rm -rf $(@D)/res

$(ANDROID_RUNTIME_JAR):
	$(call maven_fetch,org.robolectric:android-all-instrumented:$(ANDROID_SDK_VERSION)-i7,$@,$(ANDROID_RUNTIME_JAR_SHA256))

$(JNA_JAR):
	$(call maven_fetch,net.java.dev.jna:jna:$(JNA_VERSION),$@,$(JNA_JAR_SHA256))

$(JNA_AAR):
	$(call maven_fetch,net.java.dev.jna:jna:$(JNA_VERSION):aar,$@,$(JNA_AAR_SHA256))

$(ROBOLECTRIC_CHECKED): $(ROBOLECTRIC_POM) $(ROBOLECTRIC_SUMS)
	rm -rf $(ROBOLECTRIC_LIB)
	mvn -q -B -Dmaven.repo.local=$(TOOLS)/m2 -f $(ROBOLECTRIC_POM) dependency:copy-dependencies \
	  -DoutputDirectory=$(ROBOLECTRIC_LIB)
	cd $(ROBOLECTRIC_LIB) && sha256sum --check --quiet $(CURDIR)/$(ROBOLECTRIC_SUMS) \
	  || { echo "Robolectric's jars: SHA-256 mismatch, not used" >&2; rm -rf $(ROBOLECTRIC_LIB); exit 1; }
	diff <(ls $(ROBOLECTRIC_LIB)) <(awk '{print $$2}' $(ROBOLECTRIC_SUMS) | sort) \
	  || { echo "Robolectric's jars differ from $(ROBOLECTRIC_SUMS)" >&2; rm -rf $(ROBOLECTRIC_LIB); exit 1; }
	rm -rf $(ROBOLECTRIC_AAR_CLASSES) && mkdir -p $(ROBOLECTRIC_AAR_CLASSES)
	for aar in $(ROBOLECTRIC_LIB)/*.aar; do \
	  (cd $(ROBOLECTRIC_AAR_CLASSES) && jar xf $$aar classes.jar && mv classes.jar $$(basename $$aar).jar) || exit 1; \
	done
	touch $@

## aapt2 (Debian's `aapt`; it is not on Maven Central) and Maven (Debian's `maven`): installed by name through
## apt-get when missing and running as root (as CI does), otherwise named.
check-android-tools:
	@missing=""; command -v aapt2 >/dev/null || missing="$$missing aapt"; command -v mvn >/dev/null || missing="$$missing maven"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	  else echo "test-android needs:$$missing (apt-get install -y$$missing)" >&2; exit 1; fi; \
	fi

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
bindings: check-system
	$(CARGO) build -p tepat-ffi -p uniffi-bindgen
	$(generate_bindings)

## On this machine: the core module (bindings + FieldSession) compiles and its JVM tests drive the real Rust
## library (and a real tepat-server on loopback); the app module compiles against Android 15 (API 35) with its
## resources, its linked manifest is checked, every native library is checked for 16 KB pages, and the app's
## Activities run on the real Android framework under Robolectric, on the real Rust library.
test-android: check-system check-android-tools $(KOTLINC) $(ANDROID_JAR) $(ANDROID_RES) $(ANDROID_RUNTIME_JAR) $(JNA_JAR) $(JNA_AAR) \
  $(ROBOLECTRIC_CHECKED)
	$(CARGO) build $(ANDROID_CARGO_BUILD)
	$(generate_bindings)
	rm -rf $(JVM_DIR) && mkdir -p $(JVM_DIR)/gen $(JVM_DIR)/assets/forms $(JVM_DIR)/config/com/android/tools
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
	@# --warn-manifest-validation: this aapt2 predates <queries> (API 30) and would refuse it.
	@# The assets as the APK has them (the bundled forms; for the tests also the test form `uji`).
	cp schemas/forms/*.json shared/app/src/tests/test_form.json $(JVM_DIR)/assets/forms/
	aapt2 link -I $(ANDROID_RES) --warn-manifest-validation --manifest $(JVM_DIR)/AndroidManifest.xml \
	  --min-sdk-version 24 --target-sdk-version 35 --java $(JVM_DIR)/gen -A $(JVM_DIR)/assets \
	  -o $(JVM_DIR)/resources.apk $(JVM_DIR)/res.zip
	@# The manifest as linked into the APK: what package visibility, device transfer and other apps see.
	bash android/app/check-manifest.sh $(JVM_DIR)/resources.apk
	@# 16 KB pages (Android 15+): every native library that can be built or fetched here.
	bash android/check-page-size.sh $(DEBUG_DIR)/libshared.so $(JNA_AAR)
	@# app = main + Robolectric tests, against the API 35 framework (android-all carries android.* but not java.*:
	@# the JDK supplies those, see android/README.md).
	$(KOTLINC) -jvm-target 17 -Werror \
	  -cp $(ANDROID_JAR):$(JVM_DIR)/core:$(JNA_JAR):$(COROUTINES_JAR):$(ROBOLECTRIC_CP) \
	  -d $(JVM_DIR)/app android/app/src/main/kotlin $(JVM_DIR)/gen android/app/src/test/kotlin
	@# Robolectric finds the linked resources, manifest and assets through its test config (no Gradle). The plain
	@# android-all is on the class path as android.jar is under Gradle (JUnit reads @Config outside the sandbox);
	@# inside it Robolectric loads the framework from the instrumented jar.
	printf '%s\n' "android_merged_manifest=$(CURDIR)/$(JVM_DIR)/AndroidManifest.xml" \
	  "android_merged_assets=$(CURDIR)/$(JVM_DIR)/assets" "android_resource_apk=$(CURDIR)/$(JVM_DIR)/resources.apk" \
	  "android_custom_package=id.tepat.field" > $(JVM_DIR)/config/com/android/tools/test_config.properties
	cp android/app/src/test/resources/robolectric.properties $(JVM_DIR)/config/
	java -Djna.library.path=$(DEBUG_DIR) -Drobolectric.offline=true -Drobolectric.dependency.dir=$(dir $(ANDROID_RUNTIME_JAR)) \
	  -Drobolectric.enabledSdks=35 \
	  -cp $(JVM_DIR)/config:$(JVM_DIR)/app:$(JVM_DIR)/core:$(KOTLIN_LIB)/kotlin-stdlib.jar:$(COROUTINES_JAR):$(JNA_JAR):$(ROBOLECTRIC_CP):$(ANDROID_JAR) \
	  id.tepat.field.test.RunAllKt
	@echo "test-android: core JVM tests and app Robolectric tests passed; manifest and 16 KB pages checked"

## The APK (release build signed with the deployment's release key: TEPAT_KEYSTORE, TEPAT_KEYSTORE_PASSWORD,
## TEPAT_KEY_ALIAS, TEPAT_KEY_PASSWORD), on a machine with the Android SDK, NDK and cargo-ndk (android/README.md).
android:
	@test -n "$${ANDROID_HOME:-$$ANDROID_SDK_ROOT}" || { echo "make android needs the Android SDK and NDK: set ANDROID_HOME (see android/README.md). This machine can only run make test-android." >&2; exit 1; }
	@test -n "$${TEPAT_KEYSTORE:-}" || { echo "make android signs with the release key: set TEPAT_KEYSTORE, TEPAT_KEYSTORE_PASSWORD, TEPAT_KEY_ALIAS, TEPAT_KEY_PASSWORD (see android/README.md, Release key)" >&2; exit 1; }
	@command -v cargo-ndk >/dev/null || { echo "make android needs cargo-ndk: cargo install cargo-ndk --version 3.5.4 (see android/README.md)" >&2; exit 1; }
	@command -v gradle >/dev/null || test -x android/gradlew || { echo "make android needs Gradle 8.14.3 (see android/README.md)" >&2; exit 1; }
	rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
	$(CARGO) ndk $(ANDROID_ABIS) --platform 24 -o android/app/build/jniLibs build -p tepat-ffi --lib --release
	$(MAKE) --no-print-directory bindings
	cd android && $$(test -x gradlew && echo ./gradlew || echo gradle) --no-daemon :app:assembleRelease
	@ls -l android/app/build/outputs/apk/release/
