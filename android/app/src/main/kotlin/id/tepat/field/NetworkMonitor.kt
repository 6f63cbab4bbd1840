package id.tepat.field

import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.net.NetworkRequest
import id.tepat.core.ConnectivityMonitor

/** Tells the core when a network with internet comes or goes (it syncs when one comes and work is waiting). */
class NetworkMonitor(context: Context) : ConnectivityMonitor {
    /** `null` only on a device without the service (none that runs this app); then no news ever comes. */
    private val manager: ConnectivityManager? = context.getSystemService(ConnectivityManager::class.java)
    private var callback: ConnectivityManager.NetworkCallback? = null

    override fun start(changed: (online: Boolean) -> Unit) {
        val manager = manager ?: return
        val request = NetworkRequest.Builder()
            .addCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET)
            .build()
        val watcher = object : ConnectivityManager.NetworkCallback() {
            override fun onAvailable(network: Network) = changed(true)

            override fun onLost(network: Network) = changed(online())
        }
        manager.registerNetworkCallback(request, watcher)
        callback = watcher
    }

    override fun stop() {
        callback?.let { manager?.unregisterNetworkCallback(it) }
        callback = null
    }

    private fun online(): Boolean =
        manager?.activeNetwork?.let { manager.getNetworkCapabilities(it) }
            ?.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET) == true
}
