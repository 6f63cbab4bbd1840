package id.tepat.field

import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.net.NetworkRequest
import id.tepat.core.ConnectivityMonitor
import java.util.concurrent.CopyOnWriteArrayList

/**
 * Tells the core when a network with internet comes or goes (it syncs when one comes and work is waiting), and
 * the screen, whose offline indicator follows [online].
 */
class NetworkMonitor(context: Context) : ConnectivityMonitor {
    /** `null` only on a device without the service (none that runs this app); then no news ever comes. */
    private val manager: ConnectivityManager? = context.getSystemService(ConnectivityManager::class.java)
    private var callback: ConnectivityManager.NetworkCallback? = null
    private val watchers = CopyOnWriteArrayList<(Boolean) -> Unit>()

    /** Whether a network with internet is there, as last heard (asked of the system until the first news). */
    @Volatile
    var online: Boolean = queryOnline()
        private set

    override fun start(changed: (online: Boolean) -> Unit) {
        val manager = manager ?: return
        val request = NetworkRequest.Builder()
            .addCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET)
            .build()
        val watcher = object : ConnectivityManager.NetworkCallback() {
            override fun onAvailable(network: Network) = tell(true, changed)

            override fun onLost(network: Network) = tell(queryOnline(), changed)
        }
        manager.registerNetworkCallback(request, watcher)
        callback = watcher
    }

    override fun stop() {
        callback?.let { manager?.unregisterNetworkCallback(it) }
        callback = null
    }

    /** [watcher] hears every change of [online] (on the system's callback thread: post to draw). */
    fun watch(watcher: (Boolean) -> Unit) {
        watchers += watcher
    }

    fun unwatch(watcher: (Boolean) -> Unit) {
        watchers -= watcher
    }

    private fun tell(now: Boolean, core: (Boolean) -> Unit) {
        online = now
        core(now)
        watchers.forEach { it(now) }
    }

    private fun queryOnline(): Boolean =
        manager?.activeNetwork?.let { manager.getNetworkCapabilities(it) }
            ?.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET) == true
}
