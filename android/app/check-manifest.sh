#!/usr/bin/env bash
# The manifest as aapt2 linked it into the APK (what the phone's package manager reads), checked for what a
# phone at targetSdk 35 needs and no test on the JVM can see. Usage: check-manifest.sh resources.apk
set -euo pipefail
apk=$1
tree=$(aapt2 dump xmltree --file AndroidManifest.xml "$apk")
failed=0
need() { # need DESCRIPTION EXTENDED-REGEX
  if grep -Eq "$2" <<<"$tree"; then echo "manifest: ok: $1"; else echo "manifest: MISSING: $1" >&2; failed=1; fi
}
# Package visibility (targetSdk >= 30): without it resolveActivity() finds no camera app on Android 11+.
need "<queries> names android.media.action.IMAGE_CAPTURE" 'E: queries' 
grep -A4 'E: queries' <<<"$tree" | grep -q 'android.media.action.IMAGE_CAPTURE' \
  || { echo "manifest: MISSING: the IMAGE_CAPTURE intent inside <queries>" >&2; failed=1; }
# Device-to-device transfer (Android 12+ at targetSdk >= 31) ignores allowBackup=false.
need "android:dataExtractionRules on <application>" 'A: .*android:dataExtractionRules'
need "android:allowBackup=false" 'A: .*android:allowBackup.*=false'
# Every <activity>, <service>, <receiver> and <provider> says whether other apps may start it (required from
# API 31), and only the launcher activity is exported.
components=$(grep -Ec 'E: (activity|service|receiver|provider) ' <<<"$tree" || true)
flags=$(awk '/E: (activity|service|receiver|provider) /{c=1; next} /E: /{c=0} c && /android:exported/' <<<"$tree" | wc -l)
if (( components != flags )); then
  echo "manifest: $components components but $flags android:exported flags" >&2; failed=1
else
  echo "manifest: ok: all $components components say android:exported"
fi
exported=$(awk '/E: (activity|service|receiver|provider) /{c=1; next} /E: /{c=0} c && /android:exported.*=true/' <<<"$tree" | wc -l)
if (( exported != 1 )); then
  echo "manifest: $exported exported components; only the launcher activity may be" >&2; failed=1
else
  echo "manifest: ok: only one component (the launcher) is exported"
fi
exit $failed
