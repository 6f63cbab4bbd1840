package id.tepat.field.test

import id.tepat.field.TepatApplication

/** The app configured with a sync server (nothing listens there: every sync fails as "offline", quickly). */
class ServerApp : TepatApplication() {
    override fun configuredServerUrl(): String = "https://127.0.0.1:9/"
}

/** The app configured with a plain http:// server address. */
class PlainHttpApp : TepatApplication() {
    override fun configuredServerUrl(): String = "http://127.0.0.1:9/"
}
