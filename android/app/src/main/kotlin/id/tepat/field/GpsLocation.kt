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
import id.tepat.core.LocationProvider
import id.tepat.core.ffi.LocationOutput

/**
 * One GPS fix per request: listens until a fix is good enough ([GOOD_ENOUGH_M]) or [TIMEOUT_S] pass, then
 * answers with the most accurate fix seen (with its accuracy, so the core and the supervisor can judge it).
 */
class GpsLocation(private val context: Context) : LocationProvider {
    private val main = Handler(Looper.getMainLooper())

    override fun requestFix(path: String, done: (LocationOutput) -> Unit) {
        main.post { start(done) }
    }

    private fun start(done: (LocationOutput) -> Unit) {
        val words = Localized.of(context)
        val granted = context.checkSelfPermission(Manifest.permission.ACCESS_FINE_LOCATION) ==
            PackageManager.PERMISSION_GRANTED
        if (!granted) return done(LocationOutput.Unavailable(words.getString(R.string.gps_permission_denied)))
        val manager = context.getSystemService(LocationManager::class.java)
        if (!manager.isProviderEnabled(LocationManager.GPS_PROVIDER)) {
            return done(LocationOutput.Unavailable(words.getString(R.string.gps_off)))
        }
        Fix(manager, done, words.getString(R.string.gps_timeout, TIMEOUT_S)).listen()
    }

    private inner class Fix(
        private val manager: LocationManager,
        private val done: (LocationOutput) -> Unit,
        private val timeoutText: String,
    ) : LocationListener {
        private var best: Location? = null
        private var finished = false
        private val timeout = Runnable { finish() }

        fun listen() {
            try {
                manager.requestLocationUpdates(LocationManager.GPS_PROVIDER, 1000L, 0f, this, Looper.getMainLooper())
            } catch (e: SecurityException) {
                finished = true
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
            done(
                if (fix == null) {
                    LocationOutput.Unavailable(timeoutText)
                } else {
                    LocationOutput.Fix(fix.latitude, fix.longitude, fix.accuracy.toDouble())
                },
            )
        }

        @Deprecated("Not called from API 29 on; required by API 23's interface")
        override fun onStatusChanged(provider: String?, status: Int, extras: Bundle?) {}

        override fun onProviderEnabled(provider: String) {}

        override fun onProviderDisabled(provider: String) = finish()
    }

    private companion object {
        const val GOOD_ENOUGH_M = 10f
        const val TIMEOUT_S = 60
    }
}
