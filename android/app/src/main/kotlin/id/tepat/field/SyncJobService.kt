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
        TepatApplication.of(this).session.syncInBackground { jobFinished(params, false) }
        return true
    }

    /** The network went or the system needs the job gone: ask to run again later (nothing is lost meanwhile). */
    override fun onStopJob(params: JobParameters): Boolean = true
}

object SyncScheduler {
    private const val PERIODIC = 1
    private const val SOON = 2

    /** Every 30 minutes with a network: receives assignments and returned visits even when nothing is waiting. */
    fun schedulePeriodic(context: Context) {
        val job = JobInfo.Builder(PERIODIC, ComponentName(context, SyncJobService::class.java))
            .setRequiredNetworkType(JobInfo.NETWORK_TYPE_ANY)
            .setPeriodic(TimeUnit.MINUTES.toMillis(30))
            .setPersisted(true)
            .build()
        val scheduler = context.getSystemService(JobScheduler::class.java)
        if (scheduler.allPendingJobs.none { it.id == PERIODIC }) scheduler.schedule(job)
    }

    /** Once, as soon as any network is there (visits are waiting in the outbox). */
    fun soon(context: Context) {
        val job = JobInfo.Builder(SOON, ComponentName(context, SyncJobService::class.java))
            .setRequiredNetworkType(JobInfo.NETWORK_TYPE_ANY)
            .setBackoffCriteria(TimeUnit.SECONDS.toMillis(30), JobInfo.BACKOFF_POLICY_EXPONENTIAL)
            .setPersisted(true)
            .build()
        context.getSystemService(JobScheduler::class.java).schedule(job)
    }
}
