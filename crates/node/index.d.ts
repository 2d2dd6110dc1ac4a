// Type definitions of the `nim` module (seed 002) on Tidings.
// Generated once from shared/nim-api.json; every method and listener of the
// seed is here. Methods Tidings does not support yet reject with
// errorCode 501 ("not supported yet"); see docs/nim-api.md.

declare namespace nim {
  interface NimErr {
    errorCode: number;
    errorMessage: string;
  }


  /** fetchMessageHistory's parameters: the seed's, then Tidings' own. */
  interface FetchHistoryParams {
    sessionId: string;
    sessionType: number;
    /** 1 to 100 (default 100). */
    limit?: string | number;
    /** Keep the messages in the local database, without events. */
    sync?: boolean;
    /** Only messages at or after this time (ms; 0 none). */
    startTime?: number;
    /** Tidings: only messages at or before this time (ms; 0 none). */
    endTime?: number;
    /** Tidings: oldest first from startTime (default: newest first from endTime). */
    ascending?: boolean;
    /** Tidings: only these message types. */
    types?: number[];
    /** Tidings: the next page, after the message with this seq (the previous page's last). */
    anchorSeq?: number;
  }

  /** The seed's Message, plus Tidings' own fields. */
  interface Message {
    messageId: string;
    /** 0 text, 1 image, 2 audio, 3 video, 4 location, 5 notification, 6 file, 10 tip, 100 custom. */
    messageType: number;
    from: string;
    text: string;
    /** Milliseconds since the epoch (server time once acked). */
    timestamp: number;
    /** Peer account (P2P), team id or room id. */
    sessionId: string;
    /** 0 P2P, 1 team, 2 chatroom. */
    sessionType: number;
    /** remoteExt: JSON object sent with the message. */
    ext?: Record<string, unknown>;
    /** Tidings: JSON object kept only on this device. */
    localExt?: Record<string, unknown>;
    /** Tidings: custom messages' attachment. */
    attachment?: Record<string, unknown>;
    /** Tidings: server id as a decimal string ("0" until acked). */
    serverId: string;
    /** Tidings: position in the conversation (0 until acked). */
    seq: number;
    /** Tidings: 0 sending, 1 failed, 2 delivered. */
    deliveryState: number;
    /** Tidings: sent by this account. */
    isOutgoing: boolean;
    /** Tidings: mine, and the peer's read receipt covers it (isRemoteRead). */
    isRemoteRead: boolean;
    /** NIM's isOutgoingMsg / isReceivedMsg. */
    isOutgoingMsg: boolean;
    isReceivedMsg: boolean;
    /** Deleted on this device (a read by id still finds it). */
    isDeleted: boolean;
    /** Marked played on this device. */
    isPlayed: boolean;
    /** The sender's nick when it sent the message. */
    senderName: string;
    path?: string;
    url?: string;
    fileLength?: number;
    thumbPath?: string;
    duration?: number;
    coverUrl?: string;
    latitude?: number;
    longitude?: number;
    title?: string;
    displayName?: string;
  }

  /** The seed's User: a profile hosted by the server. */
  interface User {
    account: string;
    nickName: string;
    avatarUrl: string;
    sign: string;
    /** 0 unknown, 1 male, 2 female. */
    gender: number;
    email: string;
    /** yyyy-MM-dd */
    birth: string;
    mobile: string;
    /** JSON text, app-defined. */
    ext: string;
  }

  /** The seed's SysNotification, with Tidings' `messageId` and `attach`. */
  interface SysNotification {
    /** The id setSystemMessageRead, setSystemMessageStatus and deleteSystemMessage take. */
    messageId: string;
    /** 0-3 team, 5 friend. */
    type: number;
    timestamp: number;
    sourceID: string;
    targetID: string;
    postscript: string;
    read: boolean;
    /** 0 untreated, 1 passed, 2 rejected, 3 ignored, 4 expired, 5-9 app-defined. */
    status: number;
    /** JSON text; for friends {"vt": operation}. */
    attach: string;
  }

  /** Tidings: a custom notification (not stored). */
  interface CustomNotification {
    from: string;
    /** JSON text. */
    content: string;
    pushContent: string;
    timestamp: number;
  }

  interface RecentSession {
    sessionId: string;
    sessionType: number;
    unreadCount: number;
    lastMessage: Message | null;
  }

  /** Stands in for the seed's config.xml. */
  interface InitConfig {
    appKey: string;
    /** host:port (TCP gateway), http://host:port or ws://host:port/ws (WebSocket gateway). */
    server: string;
    /** Directory for each account's local database. */
    dataDir: string;
    /** 'pc' (default), 'web', 'mac', 'ios' or 'android'. */
    clientType?: 'pc' | 'web' | 'mac' | 'ios' | 'android';
  }

  type Callback<R> = (ret: R, err?: NimErr) => void;

  interface Nim {
    /** Tidings: configure the module (AppKey, server, data directory, client type). Throws NimError on a bad config. */
    init(config: InitConfig): { status: boolean };
    /** Tidings: send a custom message (type 100) with an app JSON attachment. */
    sendCustomMessage(params: { sessionId: string; sessionType: number; attachment: Record<string, unknown>; content?: string; ext?: Record<string, unknown>; localExt?: Record<string, unknown> }, callback: Callback<{ status: boolean; message: Message }>): void;
    sendCustomMessage(params: { sessionId: string; sessionType: number; attachment: Record<string, unknown>; content?: string; ext?: Record<string, unknown>; localExt?: Record<string, unknown> }): Promise<{ status: boolean; message: Message }>;

    /** Tidings: opaque JSON to an account; `onlineOnly` drops it unless a device of `to` is online. */
    sendCustomNotification(params: { to: string; content: Record<string, unknown>; onlineOnly?: boolean; pushContent?: string }, callback: Callback<{ status: boolean }>): void;
    sendCustomNotification(params: { to: string; content: Record<string, unknown>; onlineOnly?: boolean; pushContent?: string }): Promise<{ status: boolean }>;

    /** Tidings: custom notifications sent to me. */
    onCustomNotification(callback: (ret: CustomNotification) => void): void;
    /** Log in. */
    login(params: { userId: string; password: string }, callback: Callback<{ status: boolean; userId: string }>): void;
    login(params: { userId: string; password: string }): Promise<{ status: boolean; userId: string }>;
    /** Log out. */
    logout(callback: Callback<{ status: boolean }>): void;
    logout(): Promise<{ status: boolean }>;
    /** Listen for being kicked offline. */
    onKick(callback: (ret: { code: number }) => void): void;
    /** Listen for message about to be sent. */
    willSendIMMessage(callback: (ret: { messageId: string; messageType: number; sessionId: string; sessionType: number; content: string }) => void): void;
    /** Listen for message send progress. */
    onSendMessageWithProgress(callback: (ret: { progress: number; messageId: string }) => void): void;
    /** Listen for received new messages. */
    onRecvIMMessages(callback: (ret: { messages: Message[] }) => void): void;
    /** Get recent sessions. */
    allRecentSession(callback: Callback<{ status: boolean; messages: RecentSession[] }>): void;
    allRecentSession(): Promise<{ status: boolean; messages: RecentSession[] }>;
    /** Fetch cloud (server) message history. Not supported by Tidings yet (rejects with errorCode 501). */
    /** Cloud history. Tidings adds endTime, ascending (oldest first), types, anchorSeq (the seq of the previous page's last message) and hasMore. */
    fetchMessageHistory(params: FetchHistoryParams, callback: Callback<{ status: boolean; messages: Message[]; hasMore: boolean }>): void;
    fetchMessageHistory(params: FetchHistoryParams): Promise<{ status: boolean; messages: Message[]; hasMore: boolean }>;
    /** Send text/emoji message. */
    sendText(params: { sessionId: string; sessionType: number; content: string; ext?: Record<string, unknown>; localExt?: Record<string, unknown> }, callback: Callback<{ status: boolean; message: Message }>): void;
    sendText(params: { sessionId: string; sessionType: number; content: string; ext?: Record<string, unknown>; localExt?: Record<string, unknown> }): Promise<{ status: boolean; message: Message }>;
    /** Send image. Not supported by Tidings yet (rejects with errorCode 501). */
    sendImage(params: { sessionId: string; sessionType: number; filePath: string; displayName?: string; ext?: Record<string, unknown> }, callback: Callback<{ status: boolean; message?: unknown }>): void;
    sendImage(params: { sessionId: string; sessionType: number; filePath: string; displayName?: string; ext?: Record<string, unknown> }): Promise<{ status: boolean; message?: unknown }>;
    /** Send location message. Not supported by Tidings yet (rejects with errorCode 501). */
    sendLocationMsg(params: { sessionId: string; sessionType: number; title?: string; latitude?: unknown; longitude?: unknown; ext?: Record<string, unknown> }, callback: Callback<{ status: boolean; message?: unknown }>): void;
    sendLocationMsg(params: { sessionId: string; sessionType: number; title?: string; latitude?: unknown; longitude?: unknown; ext?: Record<string, unknown> }): Promise<{ status: boolean; message?: unknown }>;
    /** Send audio message. Not supported by Tidings yet (rejects with errorCode 501). */
    sendAudio(params: { sessionId: string; sessionType: number; filePath: string; ext?: Record<string, unknown> }, callback: Callback<{ status: boolean; message?: unknown }>): void;
    sendAudio(params: { sessionId: string; sessionType: number; filePath: string; ext?: Record<string, unknown> }): Promise<{ status: boolean; message?: unknown }>;
    /** Send video. Not supported by Tidings yet (rejects with errorCode 501). */
    sendVideo(params: { sessionId: string; sessionType: number; filePath: string; displayName?: string; ext?: Record<string, unknown> }, callback: Callback<{ status: boolean; message?: unknown }>): void;
    sendVideo(params: { sessionId: string; sessionType: number; filePath: string; displayName?: string; ext?: Record<string, unknown> }): Promise<{ status: boolean; message?: unknown }>;
    /** Send file. Not supported by Tidings yet (rejects with errorCode 501). */
    sendFile(params: { sessionId: string; sessionType: number; filePath: string; displayName?: string; ext?: Record<string, unknown> }, callback: Callback<{ status: boolean; message?: unknown }>): void;
    sendFile(params: { sessionId: string; sessionType: number; filePath: string; displayName?: string; ext?: Record<string, unknown> }): Promise<{ status: boolean; message?: unknown }>;
    /** Switch audio output device. Not supported by Tidings yet (rejects with errorCode 501). */
    switchAudioOutputDevice(params: { outputDevice: number }, callback: Callback<{ status: boolean }>): void;
    switchAudioOutputDevice(params: { outputDevice: number }): Promise<{ status: boolean }>;
    /** Check whether audio is playing. Not supported by Tidings yet (rejects with errorCode 501). */
    isPlaying(callback: Callback<{ status: boolean }>): void;
    isPlaying(): Promise<{ status: boolean }>;
    /** Play audio. Not supported by Tidings yet (rejects with errorCode 501). */
    playAudio(params: { filePath: string }, callback: Callback<{ status: boolean; evenType?: unknown }>): void;
    playAudio(params: { filePath: string }): Promise<{ status: boolean; evenType?: unknown }>;
    /** Stop audio playback. Not supported by Tidings yet (rejects with errorCode 501). */
    stopPlay(callback: Callback<{ status: boolean }>): void;
    stopPlay(): Promise<{ status: boolean }>;
    /** Check whether audio is being recorded. Not supported by Tidings yet (rejects with errorCode 501). */
    isRecording(callback: Callback<{ status: boolean }>): void;
    isRecording(): Promise<{ status: boolean }>;
    /** Record audio. Not supported by Tidings yet (rejects with errorCode 501). */
    recordAudioForDuration(params: { duration: number }, callback: Callback<{ status: boolean; evenType?: unknown; filePath?: unknown }>): void;
    recordAudioForDuration(params: { duration: number }): Promise<{ status: boolean; evenType?: unknown; filePath?: unknown }>;
    /** Cancel recording. Not supported by Tidings yet (rejects with errorCode 501). */
    cancelRecord(callback: Callback<{ status: boolean }>): void;
    cancelRecord(): Promise<{ status: boolean }>;
    /** Stop recording audio. Not supported by Tidings yet (rejects with errorCode 501). */
    stopRecord(callback: Callback<{ status: boolean }>): void;
    stopRecord(): Promise<{ status: boolean }>;
    /** Listen for team removed. Not supported by Tidings yet (rejects with errorCode 501). */
    onIMTeamRemoved(callback: (ret: { teamId?: unknown; teamName?: unknown; type?: unknown; owner?: unknown; avatarUrl?: unknown; intro?: unknown; announcement?: unknown; memberNumber?: unknown; level?: unknown; createTime?: unknown; joinMode?: unknown; notifyForNewMsg?: unknown }) => void): void;
    /** Listen for team updated. Not supported by Tidings yet (rejects with errorCode 501). */
    onIMTeamUpdated(callback: (ret: { teamId?: unknown; teamName?: unknown; type?: unknown; owner?: unknown; avatarUrl?: unknown; intro?: unknown; announcement?: unknown; memberNumber?: unknown; level?: unknown; createTime?: unknown; joinMode?: unknown; notifyForNewMsg?: unknown }) => void): void;
    /** Listen for blacklist changes. Not supported by Tidings yet (rejects with errorCode 501). */
    /** Tidings adds `userId` and `isInBlackList`. */
    onBlackListChanged(callback: (ret: { status: boolean; userId: string; isInBlackList: boolean }) => void): void;
    /** Get all my teams. Not supported by Tidings yet (rejects with errorCode 501). */
    allMyTeams(callback: Callback<{ status: boolean; teams?: unknown }>): void;
    allMyTeams(): Promise<{ status: boolean; teams?: unknown }>;
    /** Get team info locally. Not supported by Tidings yet (rejects with errorCode 501). */
    teamById(params: { teamId: string }, callback: Callback<{ status: boolean; message?: unknown }>): void;
    teamById(params: { teamId: string }): Promise<{ status: boolean; message?: unknown }>;
    /** Fetch team info from server. Not supported by Tidings yet (rejects with errorCode 501). */
    fetchTeamInfo(params: { teamId: string }, callback: Callback<{ status: boolean; message?: unknown }>): void;
    fetchTeamInfo(params: { teamId: string }): Promise<{ status: boolean; message?: unknown }>;
    /** Create team. Not supported by Tidings yet (rejects with errorCode 501). */
    createTeam(params: { name: string; type?: number; joinMode?: number; postscript?: string; avatarUrl?: string; intro?: string; announcement?: string; users: unknown[]; inviteMode?: number; beInviteMode?: number }, callback: Callback<{ status: boolean; teamId?: unknown }>): void;
    createTeam(params: { name: string; type?: number; joinMode?: number; postscript?: string; avatarUrl?: string; intro?: string; announcement?: string; users: unknown[]; inviteMode?: number; beInviteMode?: number }): Promise<{ status: boolean; teamId?: unknown }>;
    /** Invite users into team. Not supported by Tidings yet (rejects with errorCode 501). */
    addUsers(params: { teamId: string; users: unknown[]; postscript?: string }, callback: Callback<{ status: boolean }>): void;
    addUsers(params: { teamId: string; users: unknown[]; postscript?: string }): Promise<{ status: boolean }>;
    /** Accept team invitation (advanced teams only). Not supported by Tidings yet (rejects with errorCode 501). */
    acceptInviteWithTeam(params: { teamId: string; invitorId: string }, callback: Callback<{ status: boolean }>): void;
    acceptInviteWithTeam(params: { teamId: string; invitorId: string }): Promise<{ status: boolean }>;
    /** Reject team invitation (advanced teams only). Not supported by Tidings yet (rejects with errorCode 501). */
    rejectInviteWithTeam(params: { teamId: string; invitorId: string; rejectReason?: string }, callback: Callback<{ status: boolean }>): void;
    rejectInviteWithTeam(params: { teamId: string; invitorId: string; rejectReason?: string }): Promise<{ status: boolean }>;
    /** Apply to join team (advanced teams only). Not supported by Tidings yet (rejects with errorCode 501). */
    applyToTeam(params: { teamId: string; message?: string }, callback: Callback<{ status: boolean }>): void;
    applyToTeam(params: { teamId: string; message?: string }): Promise<{ status: boolean }>;
    /** Approve join application (advanced teams only). Not supported by Tidings yet (rejects with errorCode 501). */
    passApplyToTeam(params: { teamId: string; userId: string }, callback: Callback<{ status: boolean }>): void;
    passApplyToTeam(params: { teamId: string; userId: string }): Promise<{ status: boolean }>;
    /** Reject join application (advanced teams only). Not supported by Tidings yet (rejects with errorCode 501). */
    rejectApplyToTeam(params: { teamId: string; userId: string; rejectReason?: string }, callback: Callback<{ status: boolean }>): void;
    rejectApplyToTeam(params: { teamId: string; userId: string; rejectReason?: string }): Promise<{ status: boolean }>;
    /** Change team name. Not supported by Tidings yet (rejects with errorCode 501). */
    updateTeamName(params: { teamId: string; teamName: string }, callback: Callback<{ status: boolean }>): void;
    updateTeamName(params: { teamId: string; teamName: string }): Promise<{ status: boolean }>;
    /** Change team introduction. Not supported by Tidings yet (rejects with errorCode 501). */
    updateTeamIntro(params: { teamId: string; intro: string }, callback: Callback<{ status: boolean }>): void;
    updateTeamIntro(params: { teamId: string; intro: string }): Promise<{ status: boolean }>;
    /** Change team announcement. Not supported by Tidings yet (rejects with errorCode 501). */
    updateTeamAnnouncement(params: { teamId: string; announcement: string }, callback: Callback<{ status: boolean }>): void;
    updateTeamAnnouncement(params: { teamId: string; announcement: string }): Promise<{ status: boolean }>;
    /** Change team join verification mode. Not supported by Tidings yet (rejects with errorCode 501). */
    updateTeamJoinMode(params: { teamId: string; joinMode: number }, callback: Callback<{ status: boolean }>): void;
    updateTeamJoinMode(params: { teamId: string; joinMode: number }): Promise<{ status: boolean }>;
    /** Promote managers (advanced teams only). Not supported by Tidings yet (rejects with errorCode 501). */
    addManagersToTeam(params: { teamId: string; users: unknown[] }, callback: Callback<{ status: boolean }>): void;
    addManagersToTeam(params: { teamId: string; users: unknown[] }): Promise<{ status: boolean }>;
    /** Remove managers (advanced teams only). Not supported by Tidings yet (rejects with errorCode 501). */
    removeManagersFromTeam(params: { teamId: string; users: unknown[] }, callback: Callback<{ status: boolean }>): void;
    removeManagersFromTeam(params: { teamId: string; users: unknown[] }): Promise<{ status: boolean }>;
    /** Transfer team ownership (advanced teams only). Not supported by Tidings yet (rejects with errorCode 501). */
    transferManagerWithTeam(params: { teamId: string; newOwnerId: string; isLeave?: boolean }, callback: Callback<{ status: boolean }>): void;
    transferManagerWithTeam(params: { teamId: string; newOwnerId: string; isLeave?: boolean }): Promise<{ status: boolean }>;
    /** Get team members. Not supported by Tidings yet (rejects with errorCode 501). */
    fetchTeamMembers(params: { teamId: string }, callback: Callback<{ status: boolean; message?: unknown }>): void;
    fetchTeamMembers(params: { teamId: string }): Promise<{ status: boolean; message?: unknown }>;
    /** Quit team. Not supported by Tidings yet (rejects with errorCode 501). */
    quitTeam(params: { teamId: string }, callback: Callback<{ status: boolean }>): void;
    quitTeam(params: { teamId: string }): Promise<{ status: boolean }>;
    /** Kick users from team. Not supported by Tidings yet (rejects with errorCode 501). */
    kickUsers(params: { teamId: string; users: unknown[] }, callback: Callback<{ status: boolean }>): void;
    kickUsers(params: { teamId: string; users: unknown[] }): Promise<{ status: boolean }>;
    /** Dismiss (disband) team. Not supported by Tidings yet (rejects with errorCode 501). */
    dismissTeam(params: { teamId: string }, callback: Callback<{ status: boolean }>): void;
    dismissTeam(params: { teamId: string }): Promise<{ status: boolean }>;
    /** Set team message notification state (mute team). Not supported by Tidings yet (rejects with errorCode 501). */
    updateNotifyStateForTeam(params: { teamId: string; teamMessageNotifyType?: number }, callback: Callback<{ status: boolean }>): void;
    updateNotifyStateForTeam(params: { teamId: string; teamMessageNotifyType?: number }): Promise<{ status: boolean }>;
    /** Listen for built-in system notifications. Not supported by Tidings yet (rejects with errorCode 501). */
    onIMSystemMessageRecieved(callback: (ret: SysNotification) => void): void;
    /** Fetch locally stored system notifications. Not supported by Tidings yet (rejects with errorCode 501). */
    /** Newest first. Tidings' `types` keeps those notification types only. */
    fetchSystemNotifications(params: { limit?: number; types?: number[] } | undefined, callback: Callback<{ status: boolean; notifications: SysNotification[] }>): void;
    fetchSystemNotifications(params?: { limit?: number; types?: number[] }): Promise<{ status: boolean; notifications: SysNotification[] }>;
    /** Get unread count of local system notifications. Not supported by Tidings yet (rejects with errorCode 501). */
    allNotificationsUnreadCount(callback: Callback<{ status: boolean; count: number }>): void;
    allNotificationsUnreadCount(): Promise<{ status: boolean; count: number }>;
    /** Delete all locally stored system notifications. Not supported by Tidings yet (rejects with errorCode 501). */
    deleteAllNotifications(callback: Callback<{ status: boolean }>): void;
    deleteAllNotifications(): Promise<{ status: boolean }>;
    /** Mark all local system notifications as read. Not supported by Tidings yet (rejects with errorCode 501). */
    markAllNotificationsAsRead(callback: Callback<{ status: boolean }>): void;
    markAllNotificationsAsRead(): Promise<{ status: boolean }>;
    /** Listen for user profile changes. Not supported by Tidings yet (rejects with errorCode 501). */
    /** Once per changed profile: mine (from any device or the server API) or one fetched again. */
    onUserInfoUpdate(callback: (ret: User) => void): void;
    /** Get user profile (local). Not supported by Tidings yet (rejects with errorCode 501). */
    /** The profile this device holds (`userInfo` null when none: fetchUserInfos first). */
    userInfo(params: { userId: string }, callback: Callback<{ status: boolean; userId: string; alias: string; notifyForNewMsg: boolean; isInMyBlackList: boolean; userInfo: User | null }>): void;
    userInfo(params: { userId: string }): Promise<{ status: boolean; userId: string; alias: string; notifyForNewMsg: boolean; isInMyBlackList: boolean; userInfo: User | null }>;
    /** Fetch user profiles from server. Not supported by Tidings yet (rejects with errorCode 501). */
    /** At most 150 accounts; unknown ones are left out. The seed's example passes `userId`: taken too. */
    fetchUserInfos(params: { userIds: string[] } | { userId: string }, callback: Callback<{ status: boolean; message: User[] }>): void;
    fetchUserInfos(params: { userIds: string[] } | { userId: string }): Promise<{ status: boolean; message: User[] }>;
    /** Update current user's profile. Not supported by Tidings yet (rejects with errorCode 501). */
    updateMyUserInfo(params: { nickname?: string; avatar?: string; sign?: string; gender?: number; email?: string; birth?: string; mobile?: string; ext?: Record<string, unknown> } | undefined, callback: Callback<{ status: boolean }>): void;
    updateMyUserInfo(params?: { nickname?: string; avatar?: string; sign?: string; gender?: number; email?: string; birth?: string; mobile?: string; ext?: Record<string, unknown> }): Promise<{ status: boolean }>;
    /** Get friend list. Not supported by Tidings yet (rejects with errorCode 501). */
    myFriends(callback: Callback<{ status: boolean; users: User[] }>): void;
    myFriends(): Promise<{ status: boolean; users: User[] }>;
    /** Friend request operation. Not supported by Tidings yet (rejects with errorCode 501). */
    /** operation: 1 add directly, 2 request, 3 accept, 4 reject. */
    requestFriend(params: { userId: string; operation: number; message?: string }, callback: Callback<{ status: boolean }>): void;
    requestFriend(params: { userId: string; operation: number; message?: string }): Promise<{ status: boolean }>;
    /** Delete friend. Not supported by Tidings yet (rejects with errorCode 501). */
    deleteFriend(params: { userId: string }, callback: Callback<{ status: boolean }>): void;
    deleteFriend(params: { userId: string }): Promise<{ status: boolean }>;
    /** Get blacklist members. Not supported by Tidings yet (rejects with errorCode 501). */
    myBlackList(callback: Callback<{ status: boolean; users: User[] }>): void;
    myBlackList(): Promise<{ status: boolean; users: User[] }>;
    /** Add user to blacklist. Not supported by Tidings yet (rejects with errorCode 501). */
    addToBlackList(params: { userId: string }, callback: Callback<{ status: boolean }>): void;
    addToBlackList(params: { userId: string }): Promise<{ status: boolean }>;
    /** Remove user from blacklist. Not supported by Tidings yet (rejects with errorCode 501). */
    removeFromBlackBlackList(params: { userId: string }, callback: Callback<{ status: boolean }>): void;
    removeFromBlackBlackList(params: { userId: string }): Promise<{ status: boolean }>;
    /** Check whether user is in my blacklist. Not supported by Tidings yet (rejects with errorCode 501). */
    isUserInBlackList(params: { userId: string }, callback: Callback<{ status: boolean }>): void;
    isUserInBlackList(params: { userId: string }): Promise<{ status: boolean }>;
    /** Get muted users list. Not supported by Tidings yet (rejects with errorCode 501). */
    myMuteUserList(callback: Callback<{ status: boolean; users: User[] }>): void;
    myMuteUserList(): Promise<{ status: boolean; users: User[] }>;
    /** Set message alert for user. Not supported by Tidings yet (rejects with errorCode 501). */
    updateNotifyStateForUser(params: { userId: string; notify?: boolean }, callback: Callback<{ status: boolean }>): void;
    updateNotifyStateForUser(params: { userId: string; notify?: boolean }): Promise<{ status: boolean }>;
    /** Check whether messages from user trigger notification. Not supported by Tidings yet (rejects with errorCode 501). */
    notifyForNewMsgForUser(params: { userId: string }, callback: Callback<{ status: boolean }>): void;
    notifyForNewMsgForUser(params: { userId: string }): Promise<{ status: boolean }>;
    /** Listen for chatroom online status changes. Not supported by Tidings yet (rejects with errorCode 501). */
    onChatRoomStatusChanged(callback: (ret: { roomId?: unknown; status?: unknown }) => void): void;
    /** Listen for being kicked out of chatroom. Not supported by Tidings yet (rejects with errorCode 501). */
    onChatRoomKickOutEvent(callback: (ret: { roomId?: unknown; code?: unknown }) => void): void;
    /** Enter chatroom. Not supported by Tidings yet (rejects with errorCode 501). */
    enterChatRoom(params: { roomId: string; nickName?: string; avatar?: string; extension?: Record<string, unknown>; notifyExtension?: Record<string, unknown> }, callback: Callback<{ status: boolean }>): void;
    enterChatRoom(params: { roomId: string; nickName?: string; avatar?: string; extension?: Record<string, unknown>; notifyExtension?: Record<string, unknown> }): Promise<{ status: boolean }>;
    /** Exit chatroom. Not supported by Tidings yet (rejects with errorCode 501). */
    exitChatRoom(params: { roomId: string }, callback: Callback<{ status: boolean }>): void;
    exitChatRoom(params: { roomId: string }): Promise<{ status: boolean }>;
    /** Get chatroom history messages. Not supported by Tidings yet (rejects with errorCode 501). */
    getChatRoomHistoryMsg(params: { roomId: string; startTime?: number; limit?: number }, callback: Callback<{ status: boolean; message?: unknown }>): void;
    getChatRoomHistoryMsg(params: { roomId: string; startTime?: number; limit?: number }): Promise<{ status: boolean; message?: unknown }>;
    /** Get chatroom basic info. Not supported by Tidings yet (rejects with errorCode 501). */
    getChatRoomInfo(params: { roomId: string }, callback: Callback<{ status: boolean; message?: unknown }>): void;
    getChatRoomInfo(params: { roomId: string }): Promise<{ status: boolean; message?: unknown }>;
    /** Get chatroom members. Not supported by Tidings yet (rejects with errorCode 501). */
    getChatRoomMembers(params: { roomId: string; type?: number; time?: number; limit?: number }, callback: Callback<{ status: boolean; message?: unknown }>): void;
    getChatRoomMembers(params: { roomId: string; type?: number; time?: number; limit?: number }): Promise<{ status: boolean; message?: unknown }>;
    /** Batch get specified members' chatroom info. Not supported by Tidings yet (rejects with errorCode 501). */
    getChatRoomMembersByIds(params: { roomId: string; userIds: unknown[] }, callback: Callback<{ status: boolean; message?: unknown }>): void;
    getChatRoomMembersByIds(params: { roomId: string; userIds: unknown[] }): Promise<{ status: boolean; message?: unknown }>;
    /** Add/remove user to/from chatroom blacklist. Not supported by Tidings yet (rejects with errorCode 501). */
    addUserToBlackList(params: { roomId: string; userId: string; isAdd?: boolean }, callback: Callback<{ status: boolean }>): void;
    addUserToBlackList(params: { roomId: string; userId: string; isAdd?: boolean }): Promise<{ status: boolean }>;
    /** Add user to / remove from chatroom mute list. Not supported by Tidings yet (rejects with errorCode 501). */
    muteUser(params: { roomId: string; userId: string; isMute?: boolean }, callback: Callback<{ status: boolean }>): void;
    muteUser(params: { roomId: string; userId: string; isMute?: boolean }): Promise<{ status: boolean }>;
    /** Set/unset chatroom manager. Not supported by Tidings yet (rejects with errorCode 501). */
    setAdmin(params: { roomId: string; userId: string; isAdmin?: boolean }, callback: Callback<{ status: boolean }>): void;
    setAdmin(params: { roomId: string; userId: string; isAdmin?: boolean }): Promise<{ status: boolean }>;
    /** Set/remove chatroom normal (fixed) member. Not supported by Tidings yet (rejects with errorCode 501). */
    setNormal(params: { roomId: string; userId: string; isNormal?: boolean }, callback: Callback<{ status: boolean }>): void;
    setNormal(params: { roomId: string; userId: string; isNormal?: boolean }): Promise<{ status: boolean }>;
    /** Kick a user out of chatroom. Not supported by Tidings yet (rejects with errorCode 501). */
    kickMemberFromChatRoom(params: { roomId: string; userId: string; reason?: string }, callback: Callback<{ status: boolean }>): void;
    kickMemberFromChatRoom(params: { roomId: string; userId: string; reason?: string }): Promise<{ status: boolean }>;
    /** Start a call (caller side). Not supported by Tidings yet (rejects with errorCode 501). */
    startCall(params: { type: number; callees: unknown[]; serverRecord?: boolean; autoRotateRemoteVideo?: boolean; ext: unknown }, callback: Callback<{ status: boolean }>): void;
    startCall(params: { type: number; callees: unknown[]; serverRecord?: boolean; autoRotateRemoteVideo?: boolean; ext: unknown }): Promise<{ status: boolean }>;
    /** Listen for incoming call (callee side). Not supported by Tidings yet (rejects with errorCode 501). */
    onCallReceive(callback: (ret: { caller?: unknown; callID?: unknown; type?: unknown; extra?: unknown }) => void): void;
    /** Respond to incoming call (callee side). Not supported by Tidings yet (rejects with errorCode 501). */
    responseCall(params: { callID: string; accept?: boolean; type: number; serverRecord?: boolean; autoRotateRemoteVideo?: boolean }, callback: Callback<{ status: boolean }>): void;
    responseCall(params: { callID: string; accept?: boolean; type: number; serverRecord?: boolean; autoRotateRemoteVideo?: boolean }): Promise<{ status: boolean }>;
    /** Listen for callee's response (caller side). Not supported by Tidings yet (rejects with errorCode 501). */
    onCallResponse(callback: (ret: { callee?: unknown; callID?: unknown; accepted?: unknown }) => void): void;
    /** Listen for incoming call handled by another client of same account (multi-device). Not supported by Tidings yet (rejects with errorCode 501). */
    onCallResponsedByOther(callback: (ret: { callID?: unknown; accepted?: unknown; clientType?: unknown }) => void): void;
    /** Listen for P2P call established. Not supported by Tidings yet (rejects with errorCode 501). */
    onCallCallEstablished(callback: (ret: { status?: unknown }) => void): void;
    /** Listen for call abnormally disconnected. Not supported by Tidings yet (rejects with errorCode 501). */
    onCallCallDisconnected(callback: (ret: { status?: unknown }) => void): void;
    /** Send call control signal. Not supported by Tidings yet (rejects with errorCode 501). */
    callControl(params: { callID: string; type?: number }, callback: Callback<{ status: boolean }>): void;
    callControl(params: { callID: string; type?: number }): Promise<{ status: boolean }>;
    /** Listen for call control signals from peer. Not supported by Tidings yet (rejects with errorCode 501). */
    onCallControl(callback: (ret: { callID?: unknown; user?: unknown; control?: unknown }) => void): void;
    /** Hang up call. Not supported by Tidings yet (rejects with errorCode 501). */
    callHangup(params: { callID: string }, callback: Callback<{ status: boolean }>): void;
    callHangup(params: { callID: string }): Promise<{ status: boolean }>;
    /** Listen for peer hanging up. Not supported by Tidings yet (rejects with errorCode 501). */
    onCallHangup(callback: (ret: { callID?: unknown }) => void): void;
    /** Get call id of ongoing network call. Not supported by Tidings yet (rejects with errorCode 501). */
    currentCallID(callback: Callback<{ callID?: unknown }>): void;
    currentCallID(): Promise<{ callID?: unknown }>;
    /** Listen for current call network status. Not supported by Tidings yet (rejects with errorCode 501). */
    onCallNetStatus(callback: (ret: { status?: unknown; user?: unknown }) => void): void;
    /** Initialize video call views (required before video calls). Not supported by Tidings yet (rejects with errorCode 501). */
    initCallRemoteView(params: { remoteRect: Record<string, unknown>; localRect: Record<string, unknown>; fixedOn?: string; fixed?: boolean }, callback: Callback<{ status: boolean }>): void;
    initCallRemoteView(params: { remoteRect: Record<string, unknown>; localRect: Record<string, unknown>; fixedOn?: string; fixed?: boolean }): Promise<{ status: boolean }>;
    /** Remove video call views. Not supported by Tidings yet (rejects with errorCode 501). */
    removeCallRemoteView(callback: Callback<{ status: boolean }>): void;
    removeCallRemoteView(): Promise<{ status: boolean }>;
    /** Set call mute mode. Not supported by Tidings yet (rejects with errorCode 501). */
    setCallMute(params: { mute?: unknown } | undefined, callback: Callback<{ status: boolean }>): void;
    setCallMute(params?: { mute?: unknown }): Promise<{ status: boolean }>;
    /** Set call speaker (loudspeaker) mode. Not supported by Tidings yet (rejects with errorCode 501). */
    setCallSpeaker(params: { useSpeaker?: unknown } | undefined, callback: Callback<{ status: boolean }>): void;
    setCallSpeaker(params?: { useSpeaker?: unknown }): Promise<{ status: boolean }>;
    /** Switch call camera (front/back). Not supported by Tidings yet (rejects with errorCode 501). */
    switchCallCamera(callback: Callback<{ status: boolean }>): void;
    switchCallCamera(): Promise<{ status: boolean }>;
    /** Toggle camera flash during call. Not supported by Tidings yet (rejects with errorCode 501). */
    switchCallCameraFlash(callback: Callback<{ status: boolean }>): void;
    switchCallCameraFlash(): Promise<{ status: boolean }>;
    /** Send read receipt. Not supported by Tidings yet (rejects with errorCode 501). */
    /** A read receipt for a P2P message received: everything up to it is read. sessionId and sessionType are optional on Tidings. */
    sendMessageReceipt(params: { messageId: string; sessionId?: string; sessionType?: number }, callback: Callback<{ status: boolean }>): void;
    sendMessageReceipt(params: { messageId: string; sessionId?: string; sessionType?: number }): Promise<{ status: boolean }>;
    /** Listen for received read receipts. Not supported by Tidings yet (rejects with errorCode 501). */
    /** The peer read my messages of sessionId up to messageId (stamped timestamp). */
    onIMRecvMessageReceipt(callback: (ret: { timestamp: number; messageId: string; sessionId: string }) => void): void;
    /** Clear unread count of a session. */
    markAllMessagesReadInSession(params: { sessionId: string; sessionType: number }, callback: Callback<{ status: boolean }>): void;
    markAllMessagesReadInSession(params: { sessionId: string; sessionType: number }): Promise<{ status: boolean }>;
    /** Change team avatar. Not supported by Tidings yet (rejects with errorCode 501). */
    updateTeamAvatar(params: { teamId: string; avatarUrl: string }, callback: Callback<{ status: boolean }>): void;
    updateTeamAvatar(params: { teamId: string; avatarUrl: string }): Promise<{ status: boolean }>;
    /** Update a member's team nickname. Not supported by Tidings yet (rejects with errorCode 501). */
    updateUserNick(params: { teamId: string; userId: string; newNick: string }, callback: Callback<{ status: boolean }>): void;
    updateUserNick(params: { teamId: string; userId: string; newNick: string }): Promise<{ status: boolean }>;
    /** Change my own team nickname. Not supported by Tidings yet (rejects with errorCode 501). */
    updateMyTeamNick(params: { teamId: string; newNick: string }, callback: Callback<{ status: boolean }>): void;
    updateMyTeamNick(params: { teamId: string; newNick: string }): Promise<{ status: boolean }>;
    /** Update team custom info. Not supported by Tidings yet (rejects with errorCode 501). */
    updateTeamCustomInfo(params: { teamId: string; clientCustomInfo?: string }, callback: Callback<{ status: boolean }>): void;
    updateTeamCustomInfo(params: { teamId: string; clientCustomInfo?: string }): Promise<{ status: boolean }>;
    /** Mute/unmute a team member. Not supported by Tidings yet (rejects with errorCode 501). */
    updateMuteStateByUserId(params: { teamId: string; userId: string; mute?: boolean }, callback: Callback<{ status: boolean }>): void;
    updateMuteStateByUserId(params: { teamId: string; userId: string; mute?: boolean }): Promise<{ status: boolean }>;
    /** Mute/unmute all team members. Not supported by Tidings yet (rejects with errorCode 501). */
    updateMuteStateByAll(params: { teamId: string; mute?: boolean }, callback: Callback<{ status: boolean }>): void;
    updateMuteStateByAll(params: { teamId: string; mute?: boolean }): Promise<{ status: boolean }>;
    /** Query a team member's info. Not supported by Tidings yet (rejects with errorCode 501). */
    queryTeamMemberByUserId(params: { teamId: string; userId: string }, callback: Callback<{ status: boolean; message?: unknown }>): void;
    queryTeamMemberByUserId(params: { teamId: string; userId: string }): Promise<{ status: boolean; message?: unknown }>;
    /** Set system notification status (may not take effect on iOS). Not supported by Tidings yet (rejects with errorCode 501). */
    setSystemMessageStatus(params: { messageId: string; messageStatus: string | number }, callback: Callback<{ status: boolean }>): void;
    setSystemMessageStatus(params: { messageId: string; messageStatus: string | number }): Promise<{ status: boolean }>;
    /** Delete one system notification. Not supported by Tidings yet (rejects with errorCode 501). */
    deleteSystemMessage(params: { messageId: string }, callback: Callback<{ status: boolean }>): void;
    deleteSystemMessage(params: { messageId: string }): Promise<{ status: boolean }>;
    /** Mark one system notification as read. Not supported by Tidings yet (rejects with errorCode 501). */
    setSystemMessageRead(params: { messageId: string }, callback: Callback<{ status: boolean }>): void;
    setSystemMessageRead(params: { messageId: string }): Promise<{ status: boolean }>;
    /** Revoke (recall) a message. Not supported by Tidings yet (rejects with errorCode 501). */
    /** Revokes a message I sent within the server's window (509 after it). sessionId and sessionType are optional on Tidings; Tidings adds postscript. */
    revokeMessage(params: { messageId: string; sessionId?: string; sessionType?: number; postscript?: string }, callback: Callback<{ status: boolean }>): void;
    revokeMessage(params: { messageId: string; sessionId?: string; sessionType?: number; postscript?: string }): Promise<{ status: boolean }>;
    /** Listen for message revocations. Not supported by Tidings yet (rejects with errorCode 501). */
    /** A message was revoked: `message` as this device held it, `fromUserId` who revoked it (empty: the app's backend). The local copy is now a notification (messageType 5). */
    onIMRecvRevokeMessageNotification(callback: (ret: { status: boolean; message: Message; fromUserId: string; postscript: string }) => void): void;
    /** Listen for login status/steps. */
    onIMLogin(callback: (ret: { step: number }) => void): void;
    /** Whether logged in (synchronous). */
    isLogined(): boolean;
    /** Whether user is my friend (synchronous). Not supported by Tidings yet (rejects with errorCode 501). */
    isMyFriend(params: { account: string }): boolean;
    /** Whether I am in this team (synchronous). Not supported by Tidings yet (rejects with errorCode 501). */
    isMyTeam(params: { teamId: string }): boolean;
    /** Delete a recent session. */
    deleteRecentSession(params: { sessionId: string; sessionType: number }, callback: Callback<{ status: boolean }>): void;
    deleteRecentSession(params: { sessionId: string; sessionType: number }): Promise<{ status: boolean }>;
    /** Manually download message attachment. Not supported by Tidings yet (rejects with errorCode 501). */
    downloadAttachment(params: { messageId: string; sessionId: string; sessionType: number }, callback: Callback<{ status: boolean; evenType?: unknown; message?: unknown; progress?: unknown }>): void;
    downloadAttachment(params: { messageId: string; sessionId: string; sessionType: number }): Promise<{ status: boolean; evenType?: unknown; message?: unknown; progress?: unknown }>;
    /** Stop attachment download. Not supported by Tidings yet (rejects with errorCode 501). */
    abortDownloadAttachment(callback: Callback<{ status: boolean }>): void;
    abortDownloadAttachment(): Promise<{ status: boolean }>;
    /** Enable or disable push. Not supported by Tidings yet (rejects with errorCode 501). */
    enablePushService(params: { enable: boolean }, callback: Callback<{ status: boolean }>): void;
    enablePushService(params: { enable: boolean }): Promise<{ status: boolean }>;
    /** Send tip message. */
    sendTips(params: { sessionId: string; sessionType: number; content: string; ext?: Record<string, unknown>; localExt?: Record<string, unknown> }, callback: Callback<{ status: boolean; message: Message }>): void;
    sendTips(params: { sessionId: string; sessionType: number; content: string; ext?: Record<string, unknown>; localExt?: Record<string, unknown> }): Promise<{ status: boolean; message: Message }>;
    /** Query local message history. */
    queryMessageHistory(params: { sessionId: string; sessionType: number; limit?: string; messageId?: string }, callback: Callback<{ status: boolean; messages: Message[] }>): void;
    queryMessageHistory(params: { sessionId: string; sessionType: number; limit?: string; messageId?: string }): Promise<{ status: boolean; messages: Message[] }>;
    /** Query local message history filtered by message types. */
    queryMessageHistoryByTyps(params: { sessionId: string; sessionType: number; limit?: string; messageId?: string; types?: unknown[] }, callback: Callback<{ status: boolean; messages: Message[] }>): void;
    queryMessageHistoryByTyps(params: { sessionId: string; sessionType: number; limit?: string; messageId?: string; types?: unknown[] }): Promise<{ status: boolean; messages: Message[] }>;
    /** Delete all message history with a session. Not supported by Tidings yet (rejects with errorCode 501). */
    /** Deletes the session's messages on this device (they stay deleted whatever a sync brings); the recent session stays, read and empty, unless removeRecentSession (Tidings). */
    clearChattingHistory(params: { sessionId: string; sessionType: number; removeRecentSession?: boolean }, callback: Callback<{ status: boolean }>): void;
    clearChattingHistory(params: { sessionId: string; sessionType: number; removeRecentSession?: boolean }): Promise<{ status: boolean }>;
  }
}

declare const nim: nim.Nim & {
  /** Create another, independent module instance (another account). */
  Nim: { new (): nim.Nim };
  /** The class of errors thrown by init and sync methods and rejected by Promises. */
  NimError: { new (err: nim.NimErr): Error & nim.NimErr };
  /** Every method and listener with its kind and whether Tidings supports it yet. */
  catalogue: { name: string; kind: 'call' | 'sync' | 'listener'; supported: boolean; seed: boolean }[];
};
export = nim;
