/* A small C program on the Tidings C ABI: init, log in, send a text,
 * read recent sessions, check an unsupported method's error.
 * Usage: client SERVER APPKEY DATADIR ACCOUNT TOKEN PEER */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tidings.h"

struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t done;
    char *outcome;
};

static void on_outcome(void *user_data, const char *json) {
    struct waiter *w = user_data;
    pthread_mutex_lock(&w->lock);
    w->outcome = strdup(json);
    pthread_cond_signal(&w->done);
    pthread_mutex_unlock(&w->lock);
}

/* Calls a method and waits for its outcome (caller frees it). */
static char *call(TidingsNim *nim, const char *method, const char *params) {
    struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL};
    tidings_nim_call(nim, method, params, on_outcome, &w);
    pthread_mutex_lock(&w.lock);
    while (w.outcome == NULL) pthread_cond_wait(&w.done, &w.lock);
    pthread_mutex_unlock(&w.lock);
    return w.outcome;
}

static int expect(const char *what, const char *outcome, const char *needle) {
    printf("%s: %s\n", what, outcome);
    if (strstr(outcome, needle) == NULL) {
        fprintf(stderr, "%s: expected %s\n", what, needle);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s SERVER APPKEY DATADIR ACCOUNT TOKEN PEER\n", argv[0]);
        return 2;
    }
    char params[1024];
    int failures = 0;
    /* A bad config: NULL and a clear error. */
    char *error = NULL;
    TidingsNim *bad_nim = tidings_nim_new("{\"appKey\":\"k\",\"server\":\"nowhere\",\"dataDir\":\"/tmp\"}", &error);
    failures += bad_nim != NULL;
    failures += expect("bad config", error ? error : "", "\"errorCode\":414");
    tidings_string_free(error);

    snprintf(params, sizeof params, "{\"appKey\":\"%s\",\"server\":\"%s\",\"dataDir\":\"%s\",\"clientType\":\"pc\"}",
             argv[2], argv[1], argv[3]);
    TidingsNim *nim = tidings_nim_new(params, &error);
    if (nim == NULL) {
        fprintf(stderr, "tidings_nim_new: %s\n", error ? error : "?");
        return 3;
    }

    snprintf(params, sizeof params, "{\"userId\":\"%s\",\"password\":\"%s\"}", argv[4], argv[5]);
    char *login = call(nim, "login", params);
    failures += expect("login", login, "\"status\":true");
    free(login);

    char *logged = tidings_nim_call_sync(nim, "isLogined", NULL);
    failures += expect("isLogined", logged, "{\"ret\":true}");
    tidings_string_free(logged);

    snprintf(params, sizeof params, "{\"sessionId\":\"%s\",\"sessionType\":0,\"content\":\"hello from C\"}", argv[6]);
    char *sent = call(nim, "sendText", params);
    failures += expect("sendText", sent, "\"text\":\"hello from C\"");
    free(sent);

    char *recent = call(nim, "allRecentSession", NULL);
    failures += expect("allRecentSession", recent, "\"unreadCount\":0");
    free(recent);

    char *team = call(nim, "createTeam", "{\"name\":\"t\",\"users\":[]}");
    failures += expect("createTeam", team, "\"errorCode\":501");
    free(team);

    char *bad = call(nim, "sendText", "{\"sessionType\":0,\"content\":\"x\"}");
    failures += expect("sendText without sessionId", bad, "\"errorCode\":414");
    free(bad);

    char *listen = tidings_nim_listen(nim, "onKick", on_outcome, NULL);
    failures += expect("listen", listen, "{\"ret\":true}");
    tidings_string_free(listen);

    tidings_nim_destroy(nim);
    return failures == 0 ? 0 : 1;
}
