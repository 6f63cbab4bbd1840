package id.tepat.field

import android.app.job.JobInfo
import android.app.job.JobParameters
import android.app.job.JobScheduler
import android.app.job.JobService
import android.content.ComponentName
import android.content.Context
import java.util.concurrent.TimeUnit

/** Syncs in the background when JobScheduler sees a network. The core's sync is safe to cut at any byte. */
class SyncJobService : JobService() {
    override fun onStartJob(params: JobParameters): Boolean {
        val app = TepatApplication.of(this)
        // A job left from before (training mode now, or the phone not enrolled): nothing to sync, and no warning.
        if (app.serverUrl == null) {
            SyncScheduler.cancelPeriodic(this)
            return false
        }
        app.session.syncInBackground { jobFinished(params, false) }
        return true
    }

    /** The network went or the system needs the job gone: ask to run again later (nothing is lost meanwhile). */
    override fun onStopJob(params: JobParameters): Boolean = true
}

object SyncScheduler {
    const val PERIODIC = 1
    private const val SOON = 2

    /** Every 30 minutes with a network: receives assignments and returned visits even when nothing is waiting. */
    fun schedulePeriodic(context: Context) {
        val job = JobInfo.Builder(PERIODIC, ComponentName(context, SyncJobService::class.java))
            .setRequiredNetworkType(JobInfo.NETWORK_TYPE_ANY)
            .setPeriodic(TimeUnit.MINUTES.toMillis(30))
            .setPersisted(true)
            .build()
        val scheduler = context.getSystemService(JobScheduler::class.java) ?: return
        if (scheduler.allPendingJobs.none { it.id == PERIODIC }) scheduler.schedule(job)
    }

    fun cancelPeriodic(context: Context) {
        context.getSystemService(JobScheduler::class.java)?.cancel(PERIODIC)
    }

    /** Whether the periodic job is scheduled (tests). */
    fun periodicScheduled(context: Context): Boolean =
        context.getSystemService(JobScheduler::class.java)?.allPendingJobs.orEmpty().any { it.id == PERIODIC }

    /** Once, as soon as any network is there (visits are waiting in the outbox). */
    fun soon(context: Context) {
        val job = JobInfo.Builder(SOON, ComponentName(context, SyncJobService::class.java))
            .setRequiredNetworkType(JobInfo.NETWORK_TYPE_ANY)
            .setBackoffCriteria(TimeUnit.SECONDS.toMillis(30), JobInfo.BACKOFF_POLICY_EXPONENTIAL)
            .setPersisted(true)
            .build()
        context.getSystemService(JobScheduler::class.java)?.schedule(job)
    }
}
