package id.tepat.field

import android.Manifest
import android.content.Context
import android.content.pm.PackageManager
import android.location.Location
import android.location.LocationListener
import android.location.LocationManager
import android.os.Bundle
import android.os.Handler
import android.os.Looper
import android.os.SystemClock
import id.tepat.core.LocationProvider
import id.tepat.core.ffi.LocationOutput
import java.util.concurrent.TimeUnit

/**
 * One location fix per request: listens to every usable provider (GPS with precise permission; the network
 * provider, which works indoors and on cheap phones, with precise or approximate permission) until a fix is good
 * enough ([GOOD_ENOUGH_M]) or [TIMEOUT_S] pass, then answers with the most accurate fix seen (with its accuracy,
 * so the core and the supervisor can judge it). A last known fix younger than [FRESH_S] counts as seen; an older
 * one is named with its age when nothing better comes.
 */
class GpsLocation(private val context: Context) : LocationProvider {
    private val main = Handler(Looper.getMainLooper())

    override fun requestFix(path: String, done: (LocationOutput) -> Unit) {
        main.post { start(done) }
    }

    private fun start(done: (LocationOutput) -> Unit) {
        val words = Localized.of(context)
        if (!permitted(context)) {
            return done(LocationOutput.Unavailable(words.getString(R.string.gps_permission_denied)))
        }
        val manager = context.getSystemService(LocationManager::class.java)
            ?: return done(LocationOutput.Unavailable(words.getString(R.string.gps_off)))
        val providers = usableProviders(context).filter { manager.isProviderEnabled(it) }
        if (providers.isEmpty()) return done(LocationOutput.Unavailable(words.getString(R.string.gps_off)))
        val lastKnown = try {
            providers.mapNotNull { manager.getLastKnownLocation(it) }.maxByOrNull { it.elapsedRealtimeNanos }
        } catch (_: SecurityException) {
            null
        }
        Fix(manager, providers, lastKnown, done).listen()
    }

    private inner class Fix(
        private val manager: LocationManager,
        private val providers: List<String>,
        private val lastKnown: Location?,
        private val done: (LocationOutput) -> Unit,
    ) : LocationListener {
        private var best: Location? = lastKnown?.takeIf { ageSeconds(it) <= FRESH_S }
        private var finished = false
        private val timeout = Runnable { finish() }

        fun listen() {
            best?.let { if (it.accuracy <= GOOD_ENOUGH_M) return finish() }
            try {
                for (provider in providers) {
                    manager.requestLocationUpdates(provider, 1000L, 0f, this, Looper.getMainLooper())
                }
            } catch (e: SecurityException) {
                finished = true
                manager.removeUpdates(this)
                return done(LocationOutput.Unavailable(e.message ?: "permission"))
            }
            main.postDelayed(timeout, TIMEOUT_S * 1000L)
        }

        override fun onLocationChanged(location: Location) {
            val current = best
            if (current == null || location.accuracy < current.accuracy) best = location
            if (location.accuracy <= GOOD_ENOUGH_M) finish()
        }

        private fun finish() {
            if (finished) return
            finished = true
            main.removeCallbacks(timeout)
            manager.removeUpdates(this)
            val fix = best
            val words = Localized.of(context)
            done(
                when {
                    fix != null -> LocationOutput.Fix(fix.latitude, fix.longitude, fix.accuracy.toDouble())
                    lastKnown != null -> LocationOutput.Unavailable(
                        words.getString(R.string.gps_timeout_last_known, TIMEOUT_S, ageSeconds(lastKnown) / 60),
                    )
                    else -> LocationOutput.Unavailable(words.getString(R.string.gps_timeout, TIMEOUT_S))
                },
            )
        }

        @Deprecated("Not called from API 29 on; required by API 23's interface")
        override fun onStatusChanged(provider: String?, status: Int, extras: Bundle?) {}

        override fun onProviderEnabled(provider: String) {}

        override fun onProviderDisabled(provider: String) {
            if (providers.none { it != provider && manager.isProviderEnabled(it) }) finish()
        }
    }

    companion object {
        const val GOOD_ENOUGH_M = 10f
        const val TIMEOUT_S = 60
        const val FRESH_S = 120L

        /** Precise or approximate: Android 12+ lets the person grant only approximate, which still gives a fix. */
        fun permitted(context: Context): Boolean =
            granted(context, Manifest.permission.ACCESS_FINE_LOCATION) ||
                granted(context, Manifest.permission.ACCESS_COARSE_LOCATION)

        /** GPS needs precise permission; the network provider works with either. */
        fun usableProviders(context: Context): List<String> =
            if (granted(context, Manifest.permission.ACCESS_FINE_LOCATION)) {
                listOf(LocationManager.GPS_PROVIDER, LocationManager.NETWORK_PROVIDER)
            } else {
                listOf(LocationManager.NETWORK_PROVIDER)
            }

        private fun granted(context: Context, permission: String) =
            context.checkSelfPermission(permission) == PackageManager.PERMISSION_GRANTED

        private fun ageSeconds(location: Location): Long =
            TimeUnit.NANOSECONDS.toSeconds(SystemClock.elapsedRealtimeNanos() - location.elapsedRealtimeNanos)
    }
}
